#!/usr/bin/env bash
# Flat at a million: the public hot paths at 1,000 and at 1,000,000 certificates on SQLite and PostgreSQL,
# with wrk, the server's resident memory, and the QR page against nginx serving a saved copy of it.
# For each backend and size: a fresh database filled by `ecolabel seed` (timed), a release server, then wrk
# (2 threads, 16 connections) on: the QR page, the certificate JSON, the register's first page, a deep
# keyset page (half-way down), a name search, a common word's search, a venue's certificate list (bearer
# token); then nginx.
# Each measurement runs REPEAT times (default 3) and the summary takes the median of the runs' req/s and of
# their p99s (one 10 s run's p99 of a sub-3 ms endpoint moved by up to x2 between runs); the QR page and
# nginx's copy of it take turns, run by run, so both see the same moments of the machine.
# Usage: benches/scale_load.sh   (env: SIZES="1000 1000000" BACKENDS="sqlite postgres" SECS=10 REPEAT=3
#        BIN=path PG=postgres://postgres@127.0.0.1:5432; KEEP=dir reuses seeded databases kept there)
# Needs: wrk, nginx (Debian), PostgreSQL for the postgres runs.
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
keep="${KEEP:-}"
work=$(mktemp -d)
port=18198
nginx_port=18199
# The scheduler stays off: its first pass over a freshly seeded registry is a catch-up of hundreds of
# thousands of changes (benches/scheduler_pass.sh measures that); here the request paths are measured.
export ECOLABEL_JOBS_INTERVAL=0
export RUST_LOG=warn ECOLABEL_BIND="127.0.0.1:$port" ECOLABEL_PUBLIC_RATE=100000000 ECOLABEL_PUBLIC_BURST=100000000
pid=""
nginx_pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
results="$work/results"
: >"$results"

# wrk one endpoint once: prints and records "backend size name rps p99(ms)" (a line per run).
bench() { # backend size name url [header]
  local backend=$1 size=$2 name=$3 url=$4; shift 4
  local out rps p99 errs
  # One request first: the measurement is of a running registry, not of its first request (which opens
  # database connections and reads the first snapshot).
  curl -fsS -o /dev/null "$@" "$url" || true
  out=$(wrk -t2 -c16 -d"${secs}s" --latency "$@" "$url")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  errs=$(awk '/Non-2xx|Socket errors/' <<<"$out" | tr '\n' ' ')
  printf '%-9s %9s  %-26s %10s req/s   p99 %8.2f ms  %s\n' "$backend" "$size" "$name" "$rps" "$p99" "$errs"
  echo "$backend $size $name $rps $p99" >>"$results"
}

for backend in $backends; do
  for n in $sizes; do
    dir="${keep:-$work}/$backend-$n"
    fresh=1
    [ -n "$keep" ] && [ -f "$dir/seeded" ] && fresh=0
    mkdir -p "$dir"
    if [ "$backend" = sqlite ]; then
      export DATABASE_URL="sqlite://$dir/registry.db"
    else
      name="ecolabel_scale_$n"
      export DATABASE_URL="$pg/$name"
      if [ "$fresh" = 1 ]; then
        psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name" >/dev/null
      fi
    fi
    export ECOLABEL_DATA_DIR="$dir"
    if [ "$fresh" = 1 ]; then
      "$bin" migrate >/dev/null 2>&1
      "$bin" keys generate >/dev/null 2>&1
      start=$(date +%s.%N)
      "$bin" seed --certificates "$n" | sed "s/^/$backend $n seed: /"
      printf '%s %s seed: %.1f s in all\n' "$backend" "$n" "$(echo "$(date +%s.%N) - $start" | bc -l)"
      "$bin" users create --role admin --name "Load test" 2>/dev/null >"$dir/token"
      touch "$dir/seeded"
    fi
    token=$(cat "$dir/token")
    "$bin" serve >"$dir/serve.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
    base="http://127.0.0.1:$port"
    # Targets half-way down the register, so that nothing is the newest row by luck.
    mid=$(( (n + 1) / 2 ))
    page=$(curl -fsS "$base/api/v1/public/certificates?limit=1&before=$mid")
    number=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["number"])' <<<"$page")
    qr=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["verification_url"])' <<<"$page")
    qr_path="/V/${qr##*/V/}"
    cert=$(curl -fsS -H "Authorization: Bearer $token" "$base/api/v1/certificates/$number")
    venue_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["venue"]["id"])' <<<"$cert")
    venue=$(curl -fsS -H "Authorization: Bearer $token" "$base/api/v1/venues/$venue_id")
    # A person looks a venue up by its name in Kazakh.
    q=$(python3 -c 'import json,sys,urllib.parse; print(urllib.parse.quote(json.load(sys.stdin)["name_kk"]))' <<<"$venue")
    found=$(curl -fsS "$base/api/v1/public/certificates?q=$q" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
    [ "$found" -ge 1 ] || { echo "the name search found nothing for $q" >&2; exit 1; }
    echo "$backend $n: certificate $number, venue $venue_id, name search q=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.unquote(sys.argv[1]))' "$q") ($found found)"
    # The physical bound: nginx (2 workers) serving the same QR page, saved, with the same content type.
    curl -fsS -H "Accept: text/html" "$base$qr_path" >"$work/qr.html"
    chmod 755 "$work" && chmod 644 "$work/qr.html"  # nginx's workers run as www-data
    cat >"$work/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  types { text/html html; }
  server {
    listen 127.0.0.1:$nginx_port;
    root $work;
    location = /qr { default_type "text/html; charset=utf-8"; try_files /qr.html =404; }
  }
}
CONF
    nginx -c "$work/nginx.conf" -p "$work" &
    nginx_pid=$!
    for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$nginx_port/qr" >/dev/null 2>&1 && break; sleep 0.1; done
    for _ in $(seq 1 "$repeat"); do
      bench "$backend" "$n" qr-page "$base$qr_path" -H "Accept: text/html"
      bench "$backend" "$n" qr-page-nginx "http://127.0.0.1:$nginx_port/qr" -H "Accept: text/html"
    done
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
    nginx_pid=""
    for _ in $(seq 1 "$repeat"); do
      bench "$backend" "$n" certificate-json "$base/certificates/$number" -H "Accept: application/json"
      bench "$backend" "$n" register-first-page "$base/api/v1/public/certificates"
      bench "$backend" "$n" register-deep-page "$base/api/v1/public/certificates?before=$mid"
      bench "$backend" "$n" name-search "$base/api/v1/public/certificates?q=$q"
      # A common word: "Koktem" is the name of one seeded venue in 16 (62 at 1K, 62,500 at 1M).
      bench "$backend" "$n" common-word-search "$base/api/v1/public/certificates?q=Koktem"
      bench "$backend" "$n" venue-certificates "$base/api/v1/certificates?venue_id=$venue_id" -H "Authorization: Bearer $token"
    done
    rss=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$pid/status")
    hwm=$(awk '/VmHWM/ {print int($2/1024)}' "/proc/$pid/status")
    echo "$backend $n: server resident memory after the run $rss MiB (peak $hwm MiB)"
    echo "$backend $n rss $hwm" >>"$results"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
  done
done

echo
echo "Summary: medians of $repeat runs (p99 ratio = largest size / smallest size; QR page against nginx in the same runs)"
python3 - "$results" "$sizes" <<'PY'
import statistics
import sys
rows = [l.split() for l in open(sys.argv[1])]
sizes = sys.argv[2].split()
lo, hi = sizes[0], sizes[-1]
runs = {}
for r in rows:
    runs.setdefault((r[0], r[1], r[2]), []).append([float(x) for x in r[3:]])
# Per key: the median of each column over the runs (req/s, p99; or the peak memory).
data = {k: [statistics.median(col) for col in zip(*v)] for k, v in runs.items()}
for backend in sorted({r[0] for r in rows}):
    for name in ["qr-page", "certificate-json", "register-first-page", "register-deep-page", "name-search", "common-word-search", "venue-certificates"]:
        a, b = data.get((backend, lo, name)), data.get((backend, hi, name))
        if a and b:
            print(f"{backend:9} {name:22} p99 {float(a[1]):7.2f} ms at {lo:>8} -> {float(b[1]):7.2f} ms at {hi:>8}: x{float(b[1]) / float(a[1]):.2f}")
    for size in sizes:
        q, n = data.get((backend, size, "qr-page")), data.get((backend, size, "qr-page-nginx"))
        if q and n:
            print(f"{backend:9} {size:>8} QR page: {float(q[0]) / float(n[0]) * 100:5.1f} % of nginx's req/s, p99 x{float(q[1]) / float(n[1]):.2f} of nginx's")
        r = data.get((backend, size, "rss"))
        if r:
            print(f"{backend:9} {size:>8} peak resident memory {r[0]:.0f} MiB")
PY
