#!/usr/bin/env bash
# A Drydock cluster on loopback, with one command: PostgreSQL 15 (metadata and job queue), Ceph
# radosgw (blobs, a real S3 server), two API nodes and two workers (docs/cluster.md).
#
#   scripts/cluster.sh up [DIR]     start everything; state, config and logs under DIR
#   scripts/cluster.sh down [DIR]   stop everything and delete DIR
#
# Needs Debian's postgresql and ceph-mon/ceph-osd/radosgw/ceph-common (scripts/test-prereqs.sh
# installs them), awscli, and ../shared/tools (pg-up.sh, ceph-up.sh), run as root.
# Environment: API_PORTS (default "5001 5002"), WORKER_PORTS ("5011 5012"), PGPORT (55433),
# RGW_PORT (7481), MON_PORT (6790), VULNDB (a vulnerability database file shared by the nodes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${DRYDOCK_SHARED:-$ROOT/../shared}"
CMD="${1:-}"
DIR="$(realpath -m "${2:-/tmp/drydock-cluster}")"
API_PORTS=(${API_PORTS:-5001 5002})
WORKER_PORTS=(${WORKER_PORTS:-5011 5012})
export PGPORT="${PGPORT:-55433}" RGW_PORT="${RGW_PORT:-7481}" MON_PORT="${MON_PORT:-6790}"

down() {
  for f in "$DIR"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  D="$DIR/pg" "$SHARED/tools/postgres/pg-down.sh" >/dev/null 2>&1 || true
  D="$DIR/ceph" "$SHARED/tools/s3/ceph-down.sh" >/dev/null 2>&1 || true
  rm -rf "$DIR"
}

case "$CMD" in
down) down; exit 0 ;;
up) ;;
*) echo "usage: $0 up|down [DIR]" >&2; exit 2 ;;
esac

[ -x "$SHARED/tools/postgres/pg-up.sh" ] || { echo "cluster: $SHARED/tools not found" >&2; exit 1; }
[ -f "$ROOT/dist/cli/main.js" ] || (cd "$ROOT" && npm run build --silent)
mkdir -p "$DIR"
PG_URL=$(D="$DIR/pg" PGDATABASE=drydock "$SHARED/tools/postgres/pg-up.sh")
D="$DIR/ceph" "$SHARED/tools/s3/ceph-up.sh" >"$DIR/ceph.log" 2>&1 || { cat "$DIR/ceph.log" >&2; exit 1; }
S3="http://127.0.0.1:$RGW_PORT"
AWS_ACCESS_KEY_ID=ciaccesskey AWS_SECRET_ACCESS_KEY=cisecretkey AWS_DEFAULT_REGION=us-east-1 \
  aws --endpoint-url "$S3" s3api create-bucket --bucket drydock >/dev/null

cat >"$DIR/drydock.yaml" <<YAML
# The settings every node shares: the database, the bucket, the token key.
storage:
  meta: { url: "$PG_URL" }
  blobs:
    url: s3://drydock/registry
    endpoint: $S3
    accessKeyId: ciaccesskey
    secretAccessKey: cisecretkey
auth:
  tokenSecret: "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
YAML
[ -z "${VULNDB:-}" ] || printf 'vulndb:\n  path: "%s"\n' "$VULNDB" >>"$DIR/drydock.yaml"
node "$ROOT/dist/cli/main.js" migrate --config "$DIR/drydock.yaml"

start() { # name role port
  mkdir -p "$DIR/$1"
  nohup node "$ROOT/dist/cli/main.js" serve --config "$DIR/drydock.yaml" --data "$DIR/$1" \
    --role "$2" --listen "127.0.0.1:$3" >"$DIR/$1.log" 2>&1 &
  echo $! >"$DIR/$1.pid"
}
i=0; for p in "${API_PORTS[@]}"; do start "api-$i" api "$p"; i=$((i + 1)); done
i=0; for p in "${WORKER_PORTS[@]}"; do start "worker-$i" worker "$p"; i=$((i + 1)); done
for p in "${API_PORTS[@]}" "${WORKER_PORTS[@]}"; do
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.2; done
  curl -sf "http://127.0.0.1:$p/readyz" >/dev/null || { echo "cluster: node on port $p not ready (see $DIR/*.log)" >&2; exit 1; }
done
echo "drydock cluster up: API nodes ${API_PORTS[*]/#/127.0.0.1:}, workers ${WORKER_PORTS[*]/#/127.0.0.1:}"
echo "  PostgreSQL $PG_URL, S3 $S3 (bucket drydock), config $DIR/drydock.yaml, logs $DIR/*.log"
echo "  stop: $0 down $DIR"
