#!/usr/bin/env bash
# The register's CSV export streams: the server's resident memory before and after exporting the whole
# register, at two sizes. Usage: benches/export_memory.sh [small, default 2000] [large, default 20000]
# (`ecolabel seed` fills each fresh SQLite database; BIN=path overrides the release binary).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${BIN:-target/release/ecolabel}"
[ -x "$bin" ] || cargo build --release --quiet
for n in "${1:-2000}" "${2:-20000}"; do
  work=$(mktemp -d)
  port=18195
  export DATABASE_URL="sqlite://$work/registry.db" ECOLABEL_DATA_DIR="$work" ECOLABEL_BIND="127.0.0.1:$port" RUST_LOG=warn ECOLABEL_PUBLIC_RATE=100000 ECOLABEL_PUBLIC_BURST=100000
  "$bin" migrate >/dev/null 2>&1
  "$bin" keys generate >/dev/null 2>&1
  "$bin" seed --certificates "$n" >/dev/null
  "$bin" serve >"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "http://127.0.0.1:$port/register" >/dev/null
  before=$(ps -o rss= -p "$pid" | tr -d ' ')
  start=$(date +%s.%N)
  size=$(curl -fsS "http://127.0.0.1:$port/api/v1/public/certificates.csv" | wc -c)
  end=$(date +%s.%N)
  after=$(ps -o rss= -p "$pid" | tr -d ' ')
  peak=$(grep VmHWM "/proc/$pid/status" | awk '{print $2}')
  printf '%7s certificates: CSV %6.1f MB in %5.2f s; RSS before %4d MiB, after %4d MiB, peak %4d MiB\n' \
    "$n" "$(echo "$size / 1000000" | bc -l)" "$(echo "$end - $start" | bc -l)" $((before / 1024)) $((after / 1024)) $((peak / 1024))
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$work"
done
