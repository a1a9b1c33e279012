#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (idempotent), then builds
# the real test images from ../shared. Run by `npm test`; safe to run by hand.
#   - Debian packages: skopeo, podman, buildah, umoci, runc, docker-registry (CNCF Distribution,
#     the benchmark reference), awscli, docker.io (a real dockerd), pigz, zstd, jq, curl
#     (via ../shared/tools/images/install-prereqs.sh plus the extras below), postgresql (the
#     PostgreSQL 15 that the metadata tests start with ../shared/tools/postgres/pg-up.sh) and
#     Ceph's mon, osd and radosgw (the S3 server of ../shared/tools/s3/ceph-up.sh), openssl
#     (certificates the TLS, Notation and signature tests make), chromium (Debian's Chromium,
#     which test/e2e/browser.ts drives with playwright-core for the console's tests; nothing
#     is downloaded by Playwright)
#   - the images of ../shared/tools/images/build-images.sh in $DRYDOCK_FIXTURES
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${DRYDOCK_SHARED:-$ROOT/../shared}"
FIXTURES="${DRYDOCK_FIXTURES:-/tmp/drydock-fixtures}"

if [ ! -d "$SHARED/tools" ]; then
  echo "test-prereqs: $SHARED not found: tests that need ../shared will report themselves skipped" >&2
  exit 0
fi

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "test-prereqs: missing Debian packages ($*); run as root or: sudo apt-get install -y $*" >&2
    exit 1
  fi
}

"$SHARED/tools/images/install-prereqs.sh" >/dev/null || {
  need_root "skopeo podman buildah umoci runc docker-registry awscli"
  exit 1
}
EXTRA=(docker.io curl openssl psmisc postgresql ceph-mon ceph-osd radosgw ceph-common uuid-runtime bc chromium)
missing=()
for p in "${EXTRA[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  need_root "${missing[@]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -e "$FIXTURES/images.tsv" ] || [ "$(find "$FIXTURES/oci" -maxdepth 1 -mindepth 1 -type d | wc -l)" -lt 8 ]; then
  echo "test-prereqs: building test images into $FIXTURES (about 70 s when the cache is cold)" >&2
  "$SHARED/tools/images/build-images.sh" "$FIXTURES" >&2
fi
echo "test-prereqs: ok (fixtures in $FIXTURES)" >&2
