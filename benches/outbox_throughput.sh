#!/usr/bin/env bash
# Outbox delivery throughput: N status changes are made with the senders off, so that N webhook deliveries
# (to nginx on 127.0.0.1, answering 204) and N e-mails (to a local aiosmtpd that accepts and drops them)
# wait in the outboxes; then the registry is started with both senders on and the script times until every
# row is delivered. Both backends.
# Usage: benches/outbox_throughput.sh   (env: N=1000 BACKENDS="sqlite postgres" BIN=path PG=postgres://postgres@127.0.0.1:5432)
# Needs: nginx, python3 with aiosmtpd, curl, psql for the postgres run.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${BIN:-target/release/ecolabel}"
[ -x "$bin" ] || cargo build --release --quiet
bin=$(realpath "$bin")
n="${N:-1000}"
backends="${BACKENDS:-sqlite postgres}"
pg="${PG:-postgres://postgres@127.0.0.1:5432}"
work=$(mktemp -d)
port=18410 hook_port=18411 smtp_port=18412
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
export RUST_LOG=warn ECOLABEL_WEBHOOK_ALLOW_PRIVATE=true ECOLABEL_BIND="127.0.0.1:$port" ECOLABEL_PUBLIC_RATE=100000000 ECOLABEL_PUBLIC_BURST=100000000

cat >"$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$hook_port; location / { return 204; } } }
CONF
nginx -c "$work/nginx.conf" -p "$work"
pids+=("$(cat "$work/nginx.pid")")
python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Sink &
pids+=($!)

count() { # backend url sql
  if [ "$1" = sqlite ]; then python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])" "${2#sqlite://}" "$3"
  else psql -tA "$2" -c "$3"; fi
}

for backend in $backends; do
  dir="$work/$backend"; mkdir -p "$dir"
  if [ "$backend" = sqlite ]; then url="sqlite://$dir/registry.db"
  else db=gel_outbox_bench; psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null; url="$pg/$db"; fi
  cli=("$bin" --data-dir "$dir" --database-url "$url")
  "${cli[@]}" demo >/dev/null 2>&1
  admin=$("${cli[@]}" users create --role admin --name Admin 2>/dev/null | grep -o 'gel_[A-Za-z0-9_-]*' | head -1)
  officer=$("${cli[@]}" users create --role officer --name Officer 2>/dev/null | grep -o 'gel_[A-Za-z0-9_-]*' | head -1)
  "${cli[@]}" users invite --email manager@spz.kz --name Manager --role venue --venue 1 >/dev/null 2>&1
  # Phase 1: senders off; N changes fill the outboxes.
  "${cli[@]}" serve --webhook-interval 0 >"$dir/serve1.log" 2>&1 & spid=$!; pids+=("$spid")
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS -o /dev/null -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
    -d "{\"url\":\"http://127.0.0.1:$hook_port/hook\"}" "http://127.0.0.1:$port/api/v1/webhooks"
  for i in $(seq 1 "$n"); do
    if [ $((i % 2)) = 1 ]; then action=suspend; else action=reinstate; fi
    curl -fsS -o /dev/null -H "Authorization: Bearer $officer" -H 'content-type: application/json' \
      -d '{"reason":"bench"}' "http://127.0.0.1:$port/api/v1/certificates/GEL-2025-000001/$action"
  done
  kill "$spid"; wait "$spid" 2>/dev/null || true
  hooks=$(count "$backend" "$url" "SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL")
  mails=$(count "$backend" "$url" "SELECT count(*) FROM notifications WHERE sent_at IS NULL AND recipient_email IS NOT NULL")
  # Phase 2: both senders on; time until both outboxes are empty.
  start=$(date +%s.%N); hook_done="" mail_done=""
  "${cli[@]}" serve --webhook-interval 1 --smtp-url "smtp://127.0.0.1:$smtp_port" >"$dir/serve2.log" 2>&1 & spid=$!; pids+=("$spid")
  while [ -z "$hook_done" ] || [ -z "$mail_done" ]; do
    sleep 0.2
    now=$(echo "$(date +%s.%N) - $start" | bc)
    [ -z "$hook_done" ] && [ "$(count "$backend" "$url" "SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL")" = 0 ] && hook_done=$now
    [ -z "$mail_done" ] && [ "$(count "$backend" "$url" "SELECT count(*) FROM notifications WHERE sent_at IS NULL AND recipient_email IS NOT NULL")" = 0 ] && mail_done=$now
    if [ "$(echo "$now > 600" | bc)" = 1 ]; then echo "$backend: not delivered within 600 s" >&2; exit 1; fi
  done
  kill "$spid"; wait "$spid" 2>/dev/null || true
  printf '%s: %s webhook deliveries in %.1f s (%.0f/s, start-up included); %s e-mails in %.1f s (%.0f/s)\n' \
    "$backend" "$hooks" "$hook_done" "$(echo "$hooks / $hook_done" | bc -l)" "$mails" "$mail_done" "$(echo "$mails / $mail_done" | bc -l)"
  [ "$backend" = postgres ] && psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
done
