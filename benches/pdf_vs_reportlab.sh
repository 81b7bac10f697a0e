#!/usr/bin/env bash
# The certificate PDF: a download from the registry against reportlab drawing a comparable certificate, in
# one run (see benches/pdf_vs_reportlab.py). Starts a release build on a fresh SQLite demo registry.
# Then the first download of each of EACH seeded certificates (default 60) from a running server: rendered
# (nothing stored yet), stored (after a restart), and from memory.
# Usage: benches/pdf_vs_reportlab.sh [runs, default 200]
# Needs: pip install reportlab rl_accel segno; apt-get install poppler-utils. BIN=path overrides the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${BIN:-target/release/ecolabel}"
[ -x "$bin" ] || cargo build --release --quiet
work=$(mktemp -d)
port=18197
export DATABASE_URL="sqlite://$work/registry.db" ECOLABEL_DATA_DIR="$work" ECOLABEL_BIND="127.0.0.1:$port" RUST_LOG=warn
qr=$("$bin" demo 2>/dev/null | sed -n 's/^verify: //p')
number=$("$bin" verify "$qr" | sed -n 's/^number: //p')
token=$("$bin" users create --role admin --name "PDF bench" 2>/dev/null)
"$bin" serve >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
ready() { for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done; }
ready
python3 benches/pdf_vs_reportlab.py "http://127.0.0.1:$port" "$token" "$number" "${1:-200}"

# The first download of each of EACH more certificates (default 60, seeded; the memory cache holds about 80) from a running server: when
# nothing is stored (it renders and stores), then after a restart (stored, not in memory), then again (memory).
kill "$pid"; wait "$pid" 2>/dev/null || true
"$bin" seed --certificates "${EACH:-60}" --force >/dev/null 2>&1
restart() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; "$bin" serve >>"$work/serve.log" 2>&1 & pid=$!; ready; }
restart
echo "first download of each of ${EACH:-60} certificates, nothing stored (renders): $(python3 benches/pdf_vs_reportlab.py "http://127.0.0.1:$port" "$token" "$number" each)"
restart
echo "first download of each after a restart, the stored rendering:          $(python3 benches/pdf_vs_reportlab.py "http://127.0.0.1:$port" "$token" "$number" each)"
echo "second download of each, from the server's memory:                    $(python3 benches/pdf_vs_reportlab.py "http://127.0.0.1:$port" "$token" "$number" each)"
