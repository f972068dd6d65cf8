#!/usr/bin/env bash
# Overload run for issue 14: the service in Release on loopback with a database of its own, and CONCURRENCY chat
# sessions at once (default 2,000, one connection each) posting turns with unique ids for DURATION_SECONDS (20),
# retrying a 503 or a lost answer with the same turn id (bench/ConversationService.OverloadClient). Prints requests,
# 201s, 503s, other statuses and p99, how many connections the service held in PostgreSQL at most, then checks in
# PostgreSQL that every turn that got 201 is stored exactly once (its event and its read-model row), that a turn that
# only ever got 503 is not stored, and that nothing was stored twice or without being sent. Exits 1 on any 5xx other
# than 503, a 503 without Retry-After or problem details, or any mismatch. Stops by itself; bounded in time.
# Needs PostgreSQL and RabbitMQ running (scripts/deps.sh), psql, and a role that may create databases.
# Env: ConnectionStrings__Postgres (default the project role on localhost:5432), CONCURRENCY, DURATION_SECONDS,
# HONOR_RETRY_AFTER (1; 0 retries a 503 at once), SERVICE_PORT (5184); any other setting of the service passes through
# (e.g. Overload__MaxConcurrentRequests=32 Postgres__MaxPoolSize=10).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
concurrency="${CONCURRENCY:-2000}"; duration_s="${DURATION_SECONDS:-20}"; service_port="${SERVICE_PORT:-5184}"
connection="${ConnectionStrings__Postgres:-Host=localhost;Port=5432;Username=conversation_service;Password=conversation_service;Database=postgres}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log() { echo "overload: $*"; }

# psql takes the same server and role from PG* variables (keys as Npgsql spells them; the Database is only the one
# to connect to for CREATE DATABASE).
setting() { tr ';' '\n' <<<"$connection" | awk -F= -v k="$1" 'tolower($1) == tolower(k) { sub(/^[^=]*=/, ""); print; exit }'; }
export PGHOST="$(setting Host)" PGPORT="$(setting Port)" PGUSER="$(setting Username)" PGPASSWORD="$(setting Password)"
export PGHOST="${PGHOST:-localhost}" PGPORT="${PGPORT:-5432}" PGDATABASE="$(setting Database)"
export PGDATABASE="${PGDATABASE:-postgres}"

# One socket per session on each side, plus the service's own.
if [ "$(ulimit -n)" -lt $((2 * concurrency + 1024)) ]; then
  ulimit -n $((2 * concurrency + 1024)) 2>/dev/null || { log "raise the open-files limit (ulimit -n) to $((2 * concurrency + 1024))"; exit 2; }
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$root/artifacts/load/overload-$stamp"
mkdir -p "$out"
suffix=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
db="cs_overload_$suffix"; endpoint_prefix="overload-$suffix-"; run_id="ov$suffix"
api_key="overload-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
source "$root/scripts/lib/broker.sh"
service_pid=""; sampler_pid=""
cleanup() {
  for pid in $sampler_pid $service_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  dropdb --if-exists --force "$db" 2>/dev/null || true
  delete_broker_prefix "$endpoint_prefix"
}
trap cleanup EXIT

log "building the service and the client (Release)"
dotnet build src/ConversationService -c Release -v q -nologo > "$out/build.txt" 2>&1 || { tail -20 "$out/build.txt"; exit 1; }
dotnet build bench/ConversationService.OverloadClient -c Release -v q -nologo >> "$out/build.txt" 2>&1 || { tail -20 "$out/build.txt"; exit 1; }

# As scripts/load/run.sh starts it: Production, its own database and queue prefix, warnings only.
createdb "$db"
log "starting the service on 127.0.0.1:$service_port (database $db)"
env ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_URLS="http://127.0.0.1:$service_port" \
  ConnectionStrings__Postgres="Host=$PGHOST;Port=$PGPORT;Username=$PGUSER;Password=$PGPASSWORD;Database=$db" \
  ConnectionStrings__RabbitMq="${ConnectionStrings__RabbitMq:-amqp://guest:guest@localhost:5672/}" \
  Messaging__EndpointPrefix="$endpoint_prefix" Auth__ApiKeys__0__Key="$api_key" Auth__ApiKeys__0__Tenant=load \
  Embeddings__Provider="${EMBEDDINGS_PROVIDER:-lexical}" Logging__LogLevel__Default=Warning \
  dotnet src/ConversationService/bin/Release/net10.0/ConversationService.dll > "$out/service.log" 2>&1 &
service_pid=$!
for _ in $(seq 1 90); do curl -fsS -o /dev/null "http://127.0.0.1:$service_port/health/ready" 2>/dev/null && break; sleep 1; done
curl -fsS -o /dev/null "http://127.0.0.1:$service_port/health/ready" || { log "service not ready"; tail -30 "$out/service.log"; exit 1; }

# The service's own connections to its database, sampled twice a second: what it takes from max_connections.
( while true; do
    psql -Atqc "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND backend_type = 'client backend'" 2>/dev/null || true
    sleep 0.5
  done ) > "$out/connections.txt" &
sampler_pid=$!

log "$concurrency sessions at once for ${duration_s}s (HONOR_RETRY_AFTER=${HONOR_RETRY_AFTER:-1})"
client_rc=0
BASE_URL="http://127.0.0.1:$service_port" API_KEY="$api_key" RUN_ID="$run_id" OUT="$out/turns.tsv" \
  CONCURRENCY="$concurrency" DURATION_SECONDS="$duration_s" \
  dotnet bench/ConversationService.OverloadClient/bin/Release/net10.0/ConversationService.OverloadClient.dll \
  | tee "$out/client.txt" || client_rc=$?
kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""
max_connections_used=$(sort -n "$out/connections.txt" | tail -n 1)
server_max=$(psql -Atqc "SHOW max_connections")

# Each turn against what PostgreSQL holds: its TurnAppended events in Marten's log and its TurnView documents. A turn whose
# answer was lost (at the end, or a timeout) may be stored or not, but never twice.
psql -q -d "$db" -v ON_ERROR_STOP=1 > "$out/verify.txt" <<SQL
CREATE TEMP TABLE sent (id text PRIMARY KEY, final int, attempts int, lost int);
\copy sent FROM '$out/turns.tsv'
CREATE TEMP TABLE turn_events AS SELECT data->>'turnId' AS id, count(*) AS n FROM conversations.mt_events
  WHERE type = 'turn_appended' AND stream_id LIKE '$run_id-%' GROUP BY 1;
CREATE TEMP TABLE read_rows AS SELECT data->>'turnId' AS id, count(*) AS n FROM conversations.mt_doc_turnview
  WHERE data->>'conversationId' LIKE '$run_id-%' GROUP BY 1;
CREATE TEMP TABLE stored AS
  SELECT s.*, coalesce(e.n, 0) AS events, coalesce(r.n, 0) AS read_rows
  FROM sent s LEFT JOIN turn_events e USING (id) LEFT JOIN read_rows r USING (id);
\pset format unaligned
\pset tuples_only on
SELECT 'VERIFY'
  || ' turns=' || count(*)
  || ' acknowledged=' || count(*) FILTER (WHERE final = 201)
  || ' acknowledged_not_once=' || count(*) FILTER (WHERE final = 201 AND (events <> 1 OR read_rows <> 1))
  || ' refused_but_stored=' || count(*) FILTER (WHERE final = 503 AND lost = 0 AND (events > 0 OR read_rows > 0))
  || ' unknown=' || count(*) FILTER (WHERE final <> 201 AND (final <> 503 OR lost > 0))
  || ' unknown_stored=' || count(*) FILTER (WHERE final <> 201 AND (final <> 503 OR lost > 0) AND events = 1)
  || ' stored_twice=' || count(*) FILTER (WHERE events > 1 OR read_rows > 1)
  || ' events_rows_differ=' || count(*) FILTER (WHERE events <> read_rows)
  || ' stored_unsent=' || ((SELECT count(*) FROM turn_events WHERE id NOT IN (SELECT id FROM sent))
                           + (SELECT count(*) FROM read_rows WHERE id NOT IN (SELECT id FROM sent)))
FROM stored;
SQL
verify=$(grep '^VERIFY' "$out/verify.txt")
value() { sed -n "s/^$1 .*\b$2=\([^ ]*\).*/\1/p" "$3"; }
result() { value RESULT "$1" "$out/client.txt"; }
check() { value VERIFY "$1" "$out/verify.txt"; }
mismatches=$(( $(check acknowledged_not_once) + $(check refused_but_stored) + $(check stored_twice) + $(check events_rows_differ) + $(check stored_unsent) ))

{
  echo
  echo "## Overload run $stamp ($(nproc) cores, load average at the end $(cut -d' ' -f1-3 /proc/loadavg))"
  echo
  echo "$concurrency sessions at once for ${duration_s}s, one connection each, HONOR_RETRY_AFTER=${HONOR_RETRY_AFTER:-1}"
  echo
  echo "| requests | 201 | 503 | other | other 5xx | lost answers | p50 | p99 | p99 of 201s | turns stored/s |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  echo "| $(result requests) | $(result created) | $(result unavailable) | $(result other) | $(result other_5xx) | $(result lost_answers) | $(result p50_ms) ms | $(result p99_ms) ms | $(result created_p99_ms) ms | $(result created_per_s) |"
  echo
  echo "Statuses: $(sed -n 's/^STATUS \([0-9-]*\) \([0-9]*\)/\1: \2/p' "$out/client.txt" | paste -sd ',' | sed 's/,/, /g')."
  echo "PostgreSQL connections of the service: at most $max_connections_used (server max_connections $server_max)."
  echo "Stored: $verify"
  echo "Raw output: $out"
} | tee "$out/summary.md"

if [ "$client_rc" -ne 0 ] || [ "$mismatches" -ne 0 ]; then
  log "FAIL: $( [ "$client_rc" -ne 0 ] && echo "a 5xx other than 503, or a 503 without Retry-After or problem details; ")$mismatches mismatch(es) in PostgreSQL"
  exit 1
fi
log "PASS: no 5xx other than 503, every 201 stored exactly once, no 503 stored anything"
