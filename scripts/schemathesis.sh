#!/usr/bin/env bash
# Schemathesis against a running registry: every check, every operation, with an admin token, on a
# database seeded with the demo certificate. Usage: scripts/schemathesis.sh <ecolabel binary> [max examples]
# Exits non-zero on any failure. Configuration (expected statuses for rules beyond the schema): schemathesis.toml.
set -euo pipefail
bin=$(realpath "$1")
examples=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
port=${SCHEMATHESIS_PORT:-18299}
export DATABASE_URL="sqlite://$work/registry.db" ECOLABEL_DATA_DIR="$work" ECOLABEL_BIND="127.0.0.1:$port" \
  ECOLABEL_PUBLIC_RATE=100000 ECOLABEL_PUBLIC_BURST=100000 ECOLABEL_SIGNIN_RATE=100000 RUST_LOG=warn
"$bin" demo >/dev/null
token=$("$bin" users create --role admin --name "schemathesis admin" | grep -o 'gel_[A-Za-z0-9_-]*' | head -1)
"$bin" serve >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
cd "$root"
start=$(date +%s)
set +e
schemathesis --config-file "$root/.ci/schemathesis.toml" run "http://127.0.0.1:$port/openapi.json" --checks all -H "Authorization: Bearer $token" \
  --max-examples "$examples" --workers 1 --seed 20261128 --no-color --report junit,har --report-dir "${SCHEMATHESIS_REPORT_DIR:-$work/report}" \
  --suppress-health-check all 2>&1 | tee "$work/st.log"
rc=${PIPESTATUS[0]}
set -e
echo "schemathesis: exit $rc in $(( $(date +%s) - start )) s"
exit "$rc"
