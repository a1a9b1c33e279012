#!/usr/bin/env bash
# `npm test`: prerequisites, typecheck, lint and format check, unit tests, end-to-end tests
# with real clients. Fails on the first failing stage.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DRYDOCK_FIXTURES="${DRYDOCK_FIXTURES:-/tmp/drydock-fixtures}"
[ -d node_modules ] || npm ci
scripts/test-prereqs.sh
echo "== typecheck" && npx tsc -p tsconfig.json --noEmit && npx tsc -p web/tsconfig.json --noEmit
echo "== lint" && npx eslint . && npx prettier --check . >/dev/null
echo "== build" && npm run build --silent
echo "== unit" && npx vitest run --project unit --project web
echo "== e2e" && npx vitest run --project e2e --no-file-parallelism
