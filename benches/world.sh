#!/usr/bin/env bash
# The label in the world, measured: the live badge against the QR page in the same run (wrk, taking turns),
# and the open data export (ecolabel export) with its time and peak resident memory, on SQLite and PostgreSQL.
# For each backend and size: a fresh database filled by `ecolabel seed`, then `ecolabel export` under
# /usr/bin/time -v; on the smallest size, a release server and wrk (2 threads, 64 connections, SECS s) on
# the QR page and the badge of one certificate, REPEAT times each, alternating.
# Usage: benches/world.sh   (env: SIZES="1000 1000000" BACKENDS="sqlite postgres" SECS=10 REPEAT=3
#        BIN=path PG=postgres://postgres@127.0.0.1:5432)
# Needs: wrk (Debian), GNU time (/usr/bin/time), PostgreSQL for the postgres runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${BIN:-target/release/ecolabel}"
[ -x "$bin" ] || cargo build --release --quiet
bin=$(realpath "$bin")
sizes="${SIZES:-1000 1000000}"
backends="${BACKENDS:-sqlite postgres}"
secs="${SECS:-10}"
repeat="${REPEAT:-3}"
pg="${PG:-postgres://postgres@127.0.0.1:5432}"
work=$(mktemp -d)
port=18197
export ECOLABEL_JOBS_INTERVAL=0 ECOLABEL_WEBHOOK_INTERVAL=0
export RUST_LOG=warn ECOLABEL_BIND="127.0.0.1:$port" ECOLABEL_PUBLIC_RATE=100000000 ECOLABEL_PUBLIC_BURST=100000000
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

rps() { # url -> req/s
  curl -fsS -o /dev/null "$1" || true
  wrk -t2 -c64 -d"${secs}s" "$1" | awk '/Requests\/sec/ {print $2}'
}

first=$(echo "$sizes" | awk '{print $1}')
for backend in $backends; do
  for n in $sizes; do
    dir="$work/$backend-$n"
    mkdir -p "$dir"
    if [ "$backend" = sqlite ]; then
      export DATABASE_URL="sqlite://$dir/registry.db"
    else
      name="ecolabel_world_$n"
      export DATABASE_URL="$pg/$name"
      psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
    fi
    export ECOLABEL_DATA_DIR="$dir"
    "$bin" migrate >/dev/null 2>&1
    "$bin" keys generate >/dev/null 2>&1
    "$bin" seed --certificates "$n" >/dev/null
    /usr/bin/time -v "$bin" export --out "$dir/export" >"$dir/export.out" 2>"$dir/export.err"
    secs_taken=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$dir/export.err")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$dir/export.err")
    sizes_out=$(awk '{printf "%s %.1f MB  ", $1, $2/1048576}' "$dir/export.out" | sed "s#$dir/export/##g")
    printf '%-9s %9s  export: %s (m:ss)  peak RSS %s MiB  %s\n' "$backend" "$n" "$secs_taken" "$rss" "$sizes_out"
    if [ "$n" = "$first" ]; then
      "$bin" serve >"$dir/serve.log" 2>&1 &
      pid=$!
      for _ in $(seq 1 600); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
      base="http://127.0.0.1:$port"
      page=$(curl -fsS "$base/api/v1/public/certificates?limit=1")
      number=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["number"])' <<<"$page")
      qr=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["verification_url"])' <<<"$page")
      qr_url="$base/V/${qr##*/V/}"
      badge_url="$base/badge/$number.svg?lang=en"
      for r in $(seq 1 "$repeat"); do
        q=$(rps "$qr_url"); b=$(rps "$badge_url")
        printf '%-9s %9s  run %s: QR page %10s req/s   badge %10s req/s   badge/QR %s\n' "$backend" "$n" "$r" "$q" "$b" "$(echo "scale=2; $b / $q" | bc -l)"
      done
      kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    fi
  done
done
