#!/usr/bin/env bash
# Load benchmarks for issue 3's "Speed" section, on loopback, bounded in time, stopping by themselves:
#   (a) pgbench: single-row insert transactions, 32 clients, durable commits (the yardstick for writes)
#   (b) the service in Release on a spare port with its own database
#   (c) wrk: single-turn POSTs with unique ids, 32 connections -> turns/s, p50, p99
#   (d) wrk: GET context?budget=8000 on a seeded 600-turn LoCoMo conversation, 32 connections (after a VACUUM ANALYZE
#       and a CHECKPOINT of the service database, so the write phase's leftover background work does not run during it)
#   (e) wrk: the POSTs of (c) again on a fresh database with the daemon held back: the request path alone (reference)
#   (f) wrk: the same GET as (d) against bench/ConversationService.LoadBaseline (bare Kestrel, same bytes)
#   (g) wrk: the POSTs of (c) against that bare Kestrel, each storing its content as one row of pgbench's table: one
#       INSERT transaction per request, then the requests that arrive together in one INSERT (references, no target:
#       what the HTTP front of a durable write costs on this machine, without and with group commit)
# and prints a summary table with the issue's ratios and the CPU milliseconds per request spent in the service, in
# PostgreSQL (background processes and the service database's backends only) and in RabbitMQ; for the POSTs of (c)
# the CPU is counted until the daemon has published and processed every event. The service gets its own database and
# queue prefix; both are removed on exit. Needs root (deps.sh), PostgreSQL, RabbitMQ, wrk, jq.
# Env knobs: DURATION_SECONDS (20), WARMUP_SECONDS (5), CONNECTIONS (32), THREADS (2), SERVICE_PORT (5181),
# BASELINE_PORT (5182), LOCOMO_DIR (../shared/data/locomo), SEED_TURNS (600), BUDGET (8000), EMBEDDINGS_PROVIDER
# (lexical, so that figures stay comparable with earlier runs; "model" adds the local model's indexing to the POST
# phase with the daemon on).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
load_dir="$root/scripts/load"

duration_s="${DURATION_SECONDS:-20}"; duration="${duration_s}s"; warmup="${WARMUP_SECONDS:-5}s"
connections="${CONNECTIONS:-32}"; threads="${THREADS:-2}"
service_port="${SERVICE_PORT:-5181}"; baseline_port="${BASELINE_PORT:-5182}"
locomo="${LOCOMO_DIR:-$root/../shared/data/locomo}"
seed_turns="${SEED_TURNS:-600}"; budget="${BUDGET:-8000}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v jq >/dev/null || missing+=(jq)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ -d "$locomo" ] || { echo "load: LoCoMo data not found at $locomo (set LOCOMO_DIR)"; exit 2; }

bash scripts/deps.sh
source "$root/scripts/lib/postgres.sh"
pg_bin="/usr/lib/postgresql/$(pg_lsclusters --no-header | awk 'NR==1 {print $1}')/bin"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
# Other work on the machine skews every figure; the summary shows how busy it was at the start.
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
out="$root/artifacts/load/$stamp"
mkdir -p "$out"
suffix=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
bench_db="cs_load_pgbench_$suffix"; service_db="cs_load_service_$suffix"; request_path_db="cs_load_request_path_$suffix"
# The service's consumer queues (and MassTransit's exchanges of the same names) carry this prefix, so the run never
# consumes another instance's commands and the trap can remove exactly what it declared.
endpoint_prefix="load-$suffix-"
pids=()
source "$root/scripts/lib/broker.sh"
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for db in "$bench_db" "$service_db" "$request_path_db"; do dropdb --if-exists --force "$db" 2>/dev/null || true; done
  delete_broker_prefix "$endpoint_prefix"
}
trap cleanup EXIT
log() { echo "load: $*"; }

# Reads "key=value" from wrk's RESULT line.
field() { sed -n "s/^RESULT .*\b$2=\([^ ]*\).*/\1/p" "$1"; }

wait_ready() { # url seconds
  for _ in $(seq 1 "$2"); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 1
  done
  return 1
}

# CPU seconds (user + system) used so far by the given processes, from /proc/<pid>/stat.
cpu_seconds() {
  local ticks=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
# PostgreSQL is shared: count its background processes and only the client backends of the database under test
# (a backend's title names its database and client address), not other work on the same server.
postgres_pids() {
  ps -u postgres -o pid=,args= | awk -v db="${1:-}" '$0 ~ /\([0-9]+\)|\[local\]/ && (db == "" || index($0, " " db " ") == 0) { next } { print $1 }'
}
broker_pids() { pgrep -x beam.smp || true; }

# name script url server-pid [service database: its backends count, and the daemon is awaited unless "no-drain" follows]
# The warm-up gets its own RUN_ID so that turn ids stay unique.
run_wrk() {
  local name=$1 script=$2 url=$3 server=$4
  log "$name: warm-up $warmup"
  RUN_ID="${RUN_ID:-}w" wrk -t "$threads" -c "$connections" -d "$warmup" --timeout 5s -s "$script" "$url" > "$out/$name.warmup.txt"
  log "$name: measuring $duration at $connections connections, $threads wrk threads"
  local pg_before server_before broker_before pg_after server_after broker_after
  pg_before=$(cpu_seconds $(postgres_pids "${5:-}")); server_before=$(cpu_seconds "$server"); broker_before=$(cpu_seconds $(broker_pids))
  wrk -t "$threads" -c "$connections" -d "$duration" --timeout 5s --latency -s "$script" "$url" | tee "$out/$name.txt"
  if [ -n "${5:-}" ] && [ "${6:-}" != no-drain ]; then
    # Appends leave work for the daemon (publishing, summary trigger); it counts only once the daemon caught up.
    local waited=0
    until [ "$(psql -Atq -d "$5" -c "SELECT coalesce((SELECT max(seq_id) FROM conversations.mt_events), 0)
                                             <= coalesce((SELECT min(last_seq_id) FROM conversations.mt_event_progression), 0)")" = t ] \
          || [ "$waited" -ge 120 ]; do
      sleep 0.5; waited=$((waited + 1))
    done
    echo "DRAIN seconds=$(awk -v w="$waited" 'BEGIN { print w / 2 }')" | tee -a "$out/$name.txt"
    # The summaries those events asked for are work of this phase too, and must not run during the next one.
    wait_broker_idle "$endpoint_prefix" 120
  fi
  pg_after=$(cpu_seconds $(postgres_pids "${5:-}")); server_after=$(cpu_seconds "$server"); broker_after=$(cpu_seconds $(broker_pids))
  # Where the two cores went: CPU milliseconds per request in the server, in PostgreSQL and in RabbitMQ.
  awk -v s="$server_before" -v S="$server_after" -v p="$pg_before" -v P="$pg_after" -v b="$broker_before" -v B="$broker_after" \
      -v n="$(field "$out/$name.txt" requests)" \
      'BEGIN { printf "CPU server_s=%.1f postgres_s=%.1f broker_s=%.1f server_ms_per_req=%.3f postgres_ms_per_req=%.3f broker_ms_per_req=%.3f\n",
               S - s, P - p, B - b, 1000 * (S - s) / n, 1000 * (P - p) / n, 1000 * (B - b) / n }' \
    | tee -a "$out/$name.txt"
}
cpu_of() { sed -n "s/^CPU .*\b$2=\([^ ]*\).*/\1/p" "$1"; }

log "building the service and the baseline (Release)"
dotnet build src/ConversationService -c Release -v q -nologo > "$out/build.txt" 2>&1 || { tail -20 "$out/build.txt"; exit 1; }
dotnet build bench/ConversationService.LoadBaseline -c Release -v q -nologo >> "$out/build.txt" 2>&1 || { tail -20 "$out/build.txt"; exit 1; }

# (a) pgbench: what this machine's PostgreSQL does for one durable single-row insert per transaction.
log "pgbench: single-row insert, $connections clients, $duration (synchronous_commit default)"
createdb "$bench_db"
psql -q -d "$bench_db" -c "CREATE TABLE turns (id bigserial PRIMARY KEY, conversation text NOT NULL, content text NOT NULL, created timestamptz NOT NULL DEFAULT now())"
cat > "$out/insert.sql" <<'SQL'
\set c random(1, 1000)
INSERT INTO turns (conversation, content) VALUES ('conversation-' || :c, 'I went to a LGBTQ support group yesterday and it was so powerful. The stories were inspiring.');
SQL
"$pg_bin/pgbench" -n -M prepared -c "$connections" -j "$threads" -T "$duration_s" -f "$out/insert.sql" "$bench_db" | tee "$out/pgbench.txt"
pgbench_tps=$(sed -n 's/^tps = \([0-9]*\.[0-9]\).*/\1/p' "$out/pgbench.txt" | head -n 1)

# (b) the service, Release, its own database, production-like logging.
api_key="load-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
start_service() { # database log [NAME=value ...]: creates the database, starts the service on it, sets service_pid
  local db=$1 log_file=$2; shift 2
  createdb "$db"
  log "starting the service on 127.0.0.1:$service_port (database $db${*:+, $*})"
  env ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_URLS="http://127.0.0.1:$service_port" \
    ConnectionStrings__Postgres="$(postgres_connection "$db")" \
    ConnectionStrings__RabbitMq="amqp://guest:guest@localhost:5672/" Messaging__EndpointPrefix="$endpoint_prefix" \
    Auth__ApiKeys__0__Key="$api_key" Auth__ApiKeys__0__Tenant=load \
    Embeddings__Provider="${EMBEDDINGS_PROVIDER:-lexical}" Logging__LogLevel__Default=Warning "$@" \
    dotnet src/ConversationService/bin/Release/net10.0/ConversationService.dll > "$log_file" 2>&1 &
  service_pid=$!; pids+=("$service_pid")
  wait_ready "http://127.0.0.1:$service_port/health/ready" 90 || { log "service not ready"; tail -30 "$log_file"; exit 1; }
}
stop_service() { kill "$service_pid"; wait "$service_pid" 2>/dev/null || true; }
start_service "$service_db" "$out/service.log"

# Realistic turn texts, read at run time from LoCoMo (never copied into the repository).
jq -c '. as $c | [keys[] | select(test("^session_[0-9]+$"))] | sort_by(ltrimstr("session_") | tonumber)[]
       | $c[.][] | .text' "$locomo"/conv-*.json > "$out/texts.jsonl"

# (c) single-turn POSTs.
export LOAD_DIR="$load_dir" API_KEY="$api_key" TURNS_FILE="$out/texts.jsonl"
RUN_ID="r$suffix" run_wrk post-turn "$load_dir/post-turn.lua" "http://127.0.0.1:$service_port" "$service_pid" "$service_db"

# (d) seed one 600-turn conversation (LoCoMo turns in session order; ids prefixed by file) and GET its context.
conversation="locomo-$suffix"
log "seeding $conversation with $seed_turns turns"
jq -c --argjson n "$seed_turns" -s -f "$load_dir/seed-turns.jq" "$locomo"/conv-*.json > "$out/seed.jsonl"
while IFS= read -r batch; do
  code=$(curl -sS -o "$out/seed-response.json" -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $api_key" -H 'Content-Type: application/json' \
    --data-binary "$batch" "http://127.0.0.1:$service_port/conversations/$conversation/turns")
  [ "$code" = 201 ] || { log "seeding failed with HTTP $code"; cat "$out/seed-response.json"; exit 1; }
done < "$out/seed.jsonl"
context_path="/conversations/$conversation/context?budget=$budget"
# The seeding triggers a summary in the background, which changes the context (and its size): measure, and give
# the baseline the bytes of, the context once it has settled (the same response three seconds running, at most 60 s).
previous=""; same=0
for _ in $(seq 1 60); do
  curl -fsS -H "Authorization: Bearer $api_key" "http://127.0.0.1:$service_port$context_path" > "$out/context.json"
  current=$(md5sum < "$out/context.json")
  if [ "$current" = "$previous" ]; then same=$((same + 1)); else same=0; fi
  [ "$same" -ge 3 ] && break
  previous=$current; sleep 1
done
context_bytes=$(wc -c < "$out/context.json")
log "context response: $context_bytes bytes, $(jq -c '{tokens, fullHistoryTokens, sections: [.sections[] | {kind, tokens, items: (.items | length)}]}' "$out/context.json")"
export CONTEXT_PATH="$context_path"
# The write phase leaves PostgreSQL background work behind (autovacuum of the tables it filled, a checkpoint of its
# WAL); done now, it does not run during the read phase, which the baseline gets without it too.
# As the project's role (no superuser): the shared catalogs, which it may not vacuum, are skipped without a warning;
# CHECKPOINT needs pg_checkpoint, which deps.sh grants.
PGOPTIONS='-c client_min_messages=error' vacuumdb -q --analyze "$service_db" && psql -qd "$service_db" -c CHECKPOINT
run_wrk context "$load_dir/get-context.lua" "http://127.0.0.1:$service_port" "$service_pid" "$service_db" no-drain

# The service stops before the baseline runs, so both get the same idle machine.
stop_service

# (e) the POSTs again on a fresh database with EventStore__RunDaemon=false (no subscription runs):
# the request path alone, a reference beside (c), which pays for publishing and summaries as they happen.
start_service "$request_path_db" "$out/service-request-path.log" EventStore__RunDaemon=false
RUN_ID="q$suffix" run_wrk post-turn-request-path "$load_dir/post-turn.lua" "http://127.0.0.1:$service_port" \
  "$service_pid" "$request_path_db" no-drain
stop_service

# (f) bare Kestrel returning the captured context bytes.
log "starting the bare Kestrel baseline on 127.0.0.1:$baseline_port"
PAYLOAD_FILE="$out/context.json" ASPNETCORE_URLS="http://127.0.0.1:$baseline_port" \
  POSTGRES="$(postgres_connection "$bench_db")" \
  dotnet bench/ConversationService.LoadBaseline/bin/Release/net10.0/ConversationService.LoadBaseline.dll > "$out/baseline.log" 2>&1 &
baseline_pid=$!; pids+=("$baseline_pid")
wait_ready "http://127.0.0.1:$baseline_port/health/ready" 60 || { log "baseline not ready"; exit 1; }
run_wrk baseline "$load_dir/get-context.lua" "http://127.0.0.1:$baseline_port" "$baseline_pid"
# (g) into pgbench's table, with its database's backends counted as PostgreSQL's CPU.
for mode in single grouped; do
  PATH_PREFIX="/$mode" RUN_ID="b$mode$suffix" run_wrk "baseline-post-$mode" "$load_dir/post-turn.lua" \
    "http://127.0.0.1:$baseline_port" "$baseline_pid" "$bench_db" no-drain
done

post_rps=$(field "$out/post-turn.txt" rps); post_p50=$(field "$out/post-turn.txt" p50_ms); post_p99=$(field "$out/post-turn.txt" p99_ms)
post_err=$(field "$out/post-turn.txt" errors)
ctx_rps=$(field "$out/context.txt" rps); ctx_p50=$(field "$out/context.txt" p50_ms); ctx_p99=$(field "$out/context.txt" p99_ms)
ctx_err=$(field "$out/context.txt" errors)
base_rps=$(field "$out/baseline.txt" rps); base_p99=$(field "$out/baseline.txt" p99_ms)
reference() { # result name -> "N req/s (p50 .., p99 .., errors ..) | reference | R x pgbench"
  local f="$out/$1.txt"
  echo "$(field "$f" rps) req/s (p50 $(field "$f" p50_ms) ms, p99 $(field "$f" p99_ms) ms, errors $(field "$f" errors)) | reference | $(awk -v a="$(field "$f" rps)" -v b="$pgbench_tps" 'BEGIN { printf "%.2f", a / b }') x pgbench"
}
verdict() { awk -v ok="$1" 'BEGIN { print (ok ? "PASS" : "FAIL") }'; }
ratio_w=$(awk -v a="$post_rps" -v b="$pgbench_tps" 'BEGIN { printf "%.2f", a / b }')
ratio_c=$(awk -v a="$ctx_rps" -v b="$base_rps" 'BEGIN { printf "%.2f", a / b }')

{
  echo
  echo "## Load results $stamp ($(nproc) cores, wrk $threads threads x $connections connections, $duration each)"
  echo
  echo "| measurement | value | target | result |"
  echo "|---|---|---|---|"
  echo "| pgbench single-row insert, $connections clients | $pgbench_tps tps | yardstick | |"
  echo "| POST one turn, $connections connections | $post_rps turns/s (p50 $post_p50 ms, p99 $post_p99 ms, errors $post_err) | >= 0.50 x pgbench | $ratio_w x: $(verdict "$(awk -v r="$ratio_w" 'BEGIN{print (r >= 0.5)}')") |"
  echo "| GET context, $seed_turns turns, budget $budget | $ctx_rps req/s (p50 $ctx_p50 ms, p99 $ctx_p99 ms, errors $ctx_err) | p99 <= 10 ms | $(verdict "$(awk -v p="$ctx_p99" 'BEGIN{print (p <= 10)}')") |"
  echo "| bare Kestrel, same $context_bytes-byte payload | $base_rps req/s (p99 $base_p99 ms) | context >= 0.25 x this | $ratio_c x: $(verdict "$(awk -v r="$ratio_c" 'BEGIN{print (r >= 0.25)}')") |"
  echo "| POST one turn, request path alone (daemon held back) | $(reference post-turn-request-path) |"
  echo "| bare Kestrel POST, one INSERT transaction each | $(reference baseline-post-single) |"
  echo "| bare Kestrel POST, concurrent ones in one INSERT | $(reference baseline-post-grouped) |"
  echo
  for name in post-turn post-turn-request-path context baseline baseline-post-single baseline-post-grouped; do
    echo "CPU per request, $name$(sed -n 's/^DRAIN seconds=\(.*\)/ (until the daemon caught up, \1 s after the run)/p' "$out/$name.txt"): server $(cpu_of "$out/$name.txt" server_ms_per_req) ms, PostgreSQL $(cpu_of "$out/$name.txt" postgres_ms_per_req) ms, RabbitMQ $(cpu_of "$out/$name.txt" broker_ms_per_req) ms"
  done
  echo
  echo "Load average when the run started: $load_at_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg). Raw output: $out"
} | tee "$out/summary.md"
