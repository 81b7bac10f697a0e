#!/usr/bin/env bash
# Load test of the public log with wrk, against a release build on SQLite (loopback only, bounded): a
# registry with 300 log entries (one certificate suspended and reinstated), then the checkpoint, a full
# hash tile, a full entry bundle, a partial tile and a consistency proof, 64 connections each.
# Usage: benches/log_load.sh [seconds per endpoint, default 10]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
bin=target/release/ecolabel
[ -x "$bin" ] || cargo build --release --quiet
work=$(mktemp -d)
port=18191
export DATABASE_URL="sqlite://$work/registry.db" ECOLABEL_DATA_DIR="$work" ECOLABEL_BIND="127.0.0.1:$port" RUST_LOG=warn
"$bin" demo >/dev/null 2>&1
officer=$("$bin" users create --role officer --name "load officer" 2>/dev/null | grep -o 'gel_[A-Za-z0-9_-]*')
"$bin" serve >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
for i in $(seq 1 150); do
  for a in suspend reinstate; do
    curl -fsS -o /dev/null -H "Authorization: Bearer $officer" -H 'content-type: application/json' \
      -d "{\"reason\":\"load $i\"}" "http://127.0.0.1:$port/api/v1/certificates/GEL-2025-000001/$a"
  done
done
size=$(curl -fsS "http://127.0.0.1:$port/log/checkpoint" | sed -n 2p)
run() { # name, url
  local out rps p99
  out=$(wrk -t2 -c64 -d"${secs}s" --latency "$2")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  printf '%-26s %12s req/s   p99 %8s   %s\n' "$1" "$rps" "$p99" "$(awk '/Non-2xx|Socket errors/' <<<"$out")"
}
echo "wrk: 2 threads, 64 connections, ${secs}s per endpoint, release build, SQLite, log of $size entries"
run checkpoint "http://127.0.0.1:$port/log/checkpoint"
run full-hash-tile "http://127.0.0.1:$port/log/tile/0/000"
run full-entry-bundle "http://127.0.0.1:$port/log/tile/entries/000"
run partial-hash-tile "http://127.0.0.1:$port/log/tile/0/001.p/$((size - 256))"
run consistency-proof "http://127.0.0.1:$port/log/proof/consistency?from=100&to=$size"
