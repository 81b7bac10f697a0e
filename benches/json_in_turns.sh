#!/usr/bin/env bash
# The certificate JSON at 1,000 and at 1,000,000 certificates with both servers up and wrk taking turns
# between them, run by run: for p99s of 1–3 ms, which one 10 s run moves by x2, this compares the two sizes
# under the same moments of the machine (benches/scale_load.sh measures one size after the other).
# Usage: KEEP=dir benches/json_in_turns.sh   (env: BACKEND=postgres|sqlite RUNS=5 SECS=10 BIN=path
#        PG=postgres://postgres@127.0.0.1:5432; KEEP holds the databases benches/scale_load.sh seeded)
# Needs: wrk, and the seeded databases (run scale_load.sh with KEEP=dir first).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${BIN:-target/release/ecolabel}")
keep="${KEEP:?KEEP=dir: the databases benches/scale_load.sh seeded}"
backend="${BACKEND:-postgres}"
runs="${RUNS:-5}"
secs="${SECS:-10}"
pg="${PG:-postgres://postgres@127.0.0.1:5432}"
export ECOLABEL_JOBS_INTERVAL=0 RUST_LOG=warn ECOLABEL_PUBLIC_RATE=100000000 ECOLABEL_PUBLIC_BURST=100000000
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
declare -A url
port=18270
for n in 1000 1000000; do
  dir="$keep/$backend-$n"
  [ -f "$dir/seeded" ] || { echo "no seeded database in $dir: run KEEP=$keep benches/scale_load.sh first" >&2; exit 1; }
  if [ "$backend" = sqlite ]; then db="sqlite://$dir/registry.db"; else db="$pg/ecolabel_scale_$n"; fi
  port=$((port + 1))
  DATABASE_URL="$db" ECOLABEL_DATA_DIR="$dir" ECOLABEL_BIND="127.0.0.1:$port" "$bin" serve >"$dir/turns.log" 2>&1 &
  pids+=($!)
  base="http://127.0.0.1:$port"
  for _ in $(seq 1 600); do curl -fsS "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  # The certificate half-way down the register, as scale_load.sh takes it.
  number=$(curl -fsS "$base/api/v1/public/certificates?limit=1&before=$(( (n + 1) / 2 ))" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["number"])')
  url[$n]="$base/certificates/$number"
  curl -fsS -o /dev/null -H "Accept: application/json" "${url[$n]}"
done
results=$(mktemp)
for run in $(seq 1 "$runs"); do
  for n in 1000 1000000; do
    out=$(wrk -t2 -c16 -d"${secs}s" --latency -H "Accept: application/json" "${url[$n]}")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
    printf 'run %s  %-8s %9s  %10s req/s   p99 %6.2f ms\n' "$run" "$backend" "$n" "$rps" "$p99"
    echo "$n $p99" >>"$results"
  done
done
median() { awk -v n="$1" '$1==n {print $2}' "$results" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
small=$(median 1000)
large=$(median 1000000)
printf '%s certificate JSON, medians of %s runs in turns: p99 %.2f ms at 1000 -> %.2f ms at 1000000: x%.2f\n' \
  "$backend" "$runs" "$small" "$large" "$(echo "$large / $small" | bc -l)"
rm -f "$results"
