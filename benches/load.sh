#!/usr/bin/env bash
# Load test of the public pages with wrk, against a release build on SQLite (loopback only, bounded):
# /healthz as the baseline, the QR landing page (HTML) and the JSON certificate lookup, 64 connections,
# and the server's resident memory sampled during the run.
# Usage: benches/load.sh [seconds per endpoint, default 15]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-15}"
bin=target/release/ecolabel
[ -x "$bin" ] || cargo build --release --quiet
work=$(mktemp -d)
port=18190
export DATABASE_URL="sqlite://$work/registry.db" ECOLABEL_DATA_DIR="$work" ECOLABEL_BIND="127.0.0.1:$port" RUST_LOG=warn
# The per-IP limit protects public pages from one client; wrk is one client, so lift it for the test.
export ECOLABEL_PUBLIC_RATE=1000000 ECOLABEL_PUBLIC_BURST=1000000
qr=$("$bin" demo 2>/dev/null | sed -n 's/^verify: //p')
path="/V/${qr##*/V/}"
number=$("$bin" verify "$qr" | sed -n 's/^number: //p')
"$bin" serve >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

peak=0
sample() { while kill -0 "$pid" 2>/dev/null; do r=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0); [ "${r:-0}" -gt "$peak" ] && peak=$r && echo "$peak" >"$work/peak"; sleep 0.2; done; }
sample & sampler=$!

run() { # name, extra wrk args..., url
  local name=$1; shift
  local out; out=$(wrk -t2 -c64 -d"${secs}s" --latency "$@")
  local rps p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")
  printf '%-28s %12s req/s   p99 %8s   %s\n' "$name" "$rps" "$p99" "${errors:-0 errors}"
  echo "$rps" >"$work/$name.rps"
}
echo "wrk: 2 threads, 64 connections, ${secs}s per endpoint, release build, SQLite"
run healthz "http://127.0.0.1:$port/healthz"
run qr-landing-page-html -H "Accept: text/html" "http://127.0.0.1:$port$path"
run certificate-json -H "Accept: application/json" "http://127.0.0.1:$port/certificates/$number"
kill $sampler 2>/dev/null || true
base=$(cat "$work/healthz.rps")
for n in qr-landing-page-html certificate-json; do
  awk -v a="$(cat "$work/$n.rps")" -v b="$base" -v n="$n" 'BEGIN { printf "%-28s %5.1f %% of /healthz\n", n, 100*a/b }'
done
echo "peak resident memory of the server: $(( $(cat "$work/peak" 2>/dev/null || echo 0) / 1024 )) MB"
