#!/usr/bin/env bash
# The portal under load with a session cookie: `ecolabel seed` fills a fresh database with N certificates
# (each from an approved audit) and Q audits waiting in the queue; an officer (with a second factor) and a
# venue manager sign in through the pages; wrk reads the officers' queue, an audit page and the venue's
# certificate list. Usage: benches/portal_load.sh [certificates, default 10000] [queued, default 1000]
# [seconds, default 15] [connections, default 16]   (needs wrk, python3; DATABASE_URL=postgres://… for PostgreSQL)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
queued="${2:-1000}"
secs="${3:-15}"
conns="${4:-16}"
bin=target/release/ecolabel
[ -x "$bin" ] || cargo build --release --quiet
work=$(mktemp -d)
port=18193
export DATABASE_URL="${DATABASE_URL:-sqlite://$work/registry.db}" ECOLABEL_DATA_DIR="$work" ECOLABEL_BIND="127.0.0.1:$port" RUST_LOG=warn
base="http://127.0.0.1:$port"
"$bin" migrate >/dev/null 2>&1
"$bin" keys generate >/dev/null 2>&1
echo "seed: $n certificates, $queued queued audits ($DATABASE_URL)"
"$bin" seed --certificates "$n" --submitted "$queued"
# PostgreSQL: write the seed's dirty pages out now, so that a checkpoint does not land inside a measurement.
case "$DATABASE_URL" in postgres*) psql -q "$DATABASE_URL" -c CHECKPOINT ;; esac
officer=$("$bin" users invite --email officer@load.test --name "Load officer" --role officer 2>/dev/null)
manager=$("$bin" users invite --email manager@load.test --name "Load manager" --role venue --venue 1 2>/dev/null)
"$bin" serve >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
officer_cookie=$(python3 benches/portal_session.py "$base" "$officer" officer@load.test)
manager_cookie=$(python3 benches/portal_session.py "$base" "$manager" manager@load.test)
audit=$((n / 2))
echo "wrk: 2 threads, $conns connections, ${secs}s each, release build, $(nproc) cores"
run() {
  local what="$1" cookie="$2" path="$3"
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: gel_session=$cookie" "$base$path")
  wrk -t2 -c"$conns" -d3s -H "Cookie: gel_session=$cookie" "$base$path" >/dev/null   # warm-up, not reported
  out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Cookie: gel_session=$cookie" "$base$path")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  printf '%-34s %-38s status %s  %8s req/s  p50 %-8s p99 %-8s non-2xx %s\n' "$what" "$path" "$status" "$rps" "$p50" "$p99" "${non2xx:-0}"
}
run "officer: the queue (50 oldest)" "$officer_cookie" "/app/reviews"
run "officer: an audit page" "$officer_cookie" "/app/assessments/$audit"
run "officer: all audits, first page" "$officer_cookie" "/app/assessments"
run "venue manager: its certificates" "$manager_cookie" "/app/certificates"
rss=$(ps -o rss= -p "$pid" | tr -d ' ')
echo "server resident memory after the runs: $((rss / 1024)) MiB"
