#!/usr/bin/env bash
# Latency of GET context on the 600-turn LoCoMo conversation of run.sh, one request at a time, for issue 17's targets
# (p95 <= 20 ms with an explicit query, <= 10 ms without one), each phase with the embedder under test and with the
# lexical hash as the reference of the same run:
#   (a) without query, the conversation settled (the newest user turn's query vector is cached)
#   (b) with a query: REQUESTS distinct LoCoMo questions, each asked once (so each is embedded on the request path)
#   (c) a new user turn appended, then its context without query at once (the warm-up after the append may still run)
# and the service's CPU per indexed turn while the seed is embedded. Bounded: REQUESTS requests per phase, then it
# stops; the service gets its own database and queue prefix, removed on exit. Needs root (deps.sh), PostgreSQL,
# RabbitMQ, jq, curl. Env knobs: REQUESTS (200), PROVIDERS ("model lexical"), SEED_TURNS (600), BUDGET (2000),
# SERVICE_PORT (5184), LOCOMO_DIR (../shared/data/locomo).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
load_dir="$root/scripts/load"
requests="${REQUESTS:-200}"; providers="${PROVIDERS:-model lexical}"
seed_turns="${SEED_TURNS:-600}"; budget="${BUDGET:-2000}"; port="${SERVICE_PORT:-5184}"
locomo="${LOCOMO_DIR:-$root/../shared/data/locomo}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
command -v jq >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; }
[ -d "$locomo" ] || { echo "latency: LoCoMo data not found at $locomo (set LOCOMO_DIR)"; exit 2; }
bash scripts/deps.sh
source "$root/scripts/lib/postgres.sh"
source "$root/scripts/lib/broker.sh"

out="$root/artifacts/load/latency-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
suffix=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
prefix="latency-$suffix-"; databases=(); service_pid=""
cleanup() {
  [ -n "$service_pid" ] && { kill "$service_pid" 2>/dev/null || true; wait "$service_pid" 2>/dev/null || true; }
  for db in "${databases[@]}"; do dropdb --if-exists --force "$db" 2>/dev/null || true; done
  delete_broker_prefix "$prefix"
}
trap cleanup EXIT
log() { echo "latency: $*"; }

log "building the service (Release)"
dotnet build src/ConversationService -c Release -v q -nologo > "$out/build.txt" 2>&1 || { tail -20 "$out/build.txt"; exit 1; }
jq -c --argjson n "$seed_turns" -s -f "$load_dir/seed-turns.jq" "$locomo"/conv-*.json > "$out/seed.jsonl"
jq -r '.qa[].question' "$locomo"/conv-*.json | awk -v n="$((requests * 2))" '!seen[$0]++ && count++ < n' > "$out/questions.txt"
api_key="latency-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
base="http://127.0.0.1:$port"
auth=(-H "Authorization: Bearer $api_key")
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# p50 and p95 in milliseconds of the seconds in a file, one per line.
percentiles() { sort -g "$1" | awk '{ v[NR] = $1 * 1000 } END { printf "p50 %.1f ms, p95 %.1f ms (%d requests)", v[int(NR * 0.5 + 0.5)], v[int(NR * 0.95 + 0.5)], NR }'; }
get() { curl -fsS -o /dev/null -w '%{time_total}\n' "${auth[@]}" "$base$1"; }

for provider in $providers; do
  db="cs_latency_${provider}_$suffix"; databases+=("$db"); createdb "$db"
  log "$provider: starting the service on $base (database $db)"
  env ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_URLS="$base" ConnectionStrings__Postgres="$(postgres_connection "$db")" \
    ConnectionStrings__RabbitMq="amqp://guest:guest@localhost:5672/" Messaging__EndpointPrefix="$prefix$provider-" \
    Auth__ApiKeys__0__Key="$api_key" Auth__ApiKeys__0__Tenant=latency Embeddings__Provider="$provider" \
    Logging__LogLevel__Default=Warning dotnet src/ConversationService/bin/Release/net10.0/ConversationService.dll \
    > "$out/service-$provider.log" 2>&1 &
  service_pid=$!
  for _ in $(seq 1 120); do curl -fsS -o /dev/null "$base/health/ready" 2>/dev/null && break; sleep 1; done
  conversation="locomo-$suffix"
  cpu_before=$(cpu_seconds "$service_pid"); started=$(date +%s.%N)
  while IFS= read -r batch; do
    curl -fsS -o /dev/null "${auth[@]}" -H 'Content-Type: application/json' --data-binary "$batch" "$base/conversations/$conversation/turns"
  done < "$out/seed.jsonl"
  # Indexed: every turn has its vector (indexedVersion waits for the embedding projection).
  for _ in $(seq 1 600); do
    state=$(curl -fsS "${auth[@]}" "$base/conversations/$conversation")
    [ "$(jq '.version == .indexedVersion' <<< "$state")" = true ] && break
    sleep 0.5
  done
  indexed_s=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  cpu_ms_per_turn=$(awk -v a="$cpu_before" -v b="$(cpu_seconds "$service_pid")" -v n="$seed_turns" 'BEGIN { printf "%.2f", 1000 * (b - a) / n }')
  sleep 2
  context="/conversations/$conversation/context?budget=$budget"
  for _ in $(seq 1 20); do get "$context" > /dev/null; done # warm-up: JIT, snapshot, caches
  for _ in $(seq 1 "$requests"); do get "$context"; done > "$out/$provider-no-query.txt"
  while IFS= read -r question; do
    get "$context&query=$(jq -rn --arg q "$question" '$q | @uri')"
  done < <(sed -n "1,${requests}p" "$out/questions.txt") > "$out/$provider-query.txt"
  for i in $(seq 1 "$requests"); do
    curl -fsS -o /dev/null "${auth[@]}" -H 'Content-Type: application/json' \
      --data-binary "$(jq -cn --arg q "$(sed -n "$((requests + i))p" "$out/questions.txt")" --arg id "u$i" \
        '{turns: [{id: $id, role: "user", content: $q}]}')" "$base/conversations/$conversation/turns"
    get "$context"
  done > "$out/$provider-after-append.txt"
  {
    echo "$provider: seed of $seed_turns turns indexed in $indexed_s s, service CPU $cpu_ms_per_turn ms per turn"
    echo "$provider: without query: $(percentiles "$out/$provider-no-query.txt")"
    echo "$provider: with a new query each time: $(percentiles "$out/$provider-query.txt")"
    echo "$provider: right after appending a user turn, without query: $(percentiles "$out/$provider-after-append.txt")"
  } | tee -a "$out/summary.txt"
  kill "$service_pid"; wait "$service_pid" 2>/dev/null || true; service_pid=""
done
log "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); raw output: $out"
