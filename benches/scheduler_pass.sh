#!/usr/bin/env bash
# A scheduler pass over 100,000 certificates on SQLite and PostgreSQL: the time of a pass that acts on the
# certificates issued a year ago (surveillance overdue, long suspensions), and of a second pass for the same
# time, which finds nothing due and shows what a pass costs when only the indexes are read.
# The seed issues half the certificates a year ago and half now (--per-year N/2): only the older half is due.
# Usage: benches/scheduler_pass.sh   (env: N=100000 BACKENDS="sqlite postgres" BIN=path
#        PG=postgres://postgres@127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${BIN:-target/release/ecolabel}"
[ -x "$bin" ] || cargo build --release --quiet
bin=$(realpath "$bin")
n="${N:-100000}"
backends="${BACKENDS:-sqlite postgres}"
pg="${PG:-postgres://postgres@127.0.0.1:5432}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RUST_LOG=warn
at=$(date -u -d '+31 days' +%Y-%m-%dT%H:%M:%SZ)

for backend in $backends; do
  dir="$work/$backend"
  mkdir -p "$dir"
  if [ "$backend" = sqlite ]; then
    url="sqlite://$dir/registry.db"
  else
    db="gel_sched_bench"
    psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
    url="$pg/$db"
  fi
  cli=("$bin" --data-dir "$dir" --database-url "$url")
  start=$(date +%s.%N)
  "${cli[@]}" seed --certificates "$n" --per-year $((n / 2)) >/dev/null
  printf '%s: seeded %s certificates in %.1f s\n' "$backend" "$n" "$(echo "$(date +%s.%N) - $start" | bc)"
  for pass in first second; do
    start=$(date +%s.%N)
    report=$(/usr/bin/time -f '%M' -o "$work/rss" "${cli[@]}" jobs run --at "$at")
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    printf '%s: %s pass at %s: %.2f s, peak RSS %s KiB: %s\n' "$backend" "$pass" "$at" "$secs" "$(cat "$work/rss")" "$report"
  done
  if [ "$backend" = postgres ]; then
    psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  fi
done
