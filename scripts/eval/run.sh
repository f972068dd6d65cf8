#!/usr/bin/env bash
# LoCoMo evidence-recall evaluation (issue 5) on loopback, self-contained and cleaning up after itself:
# PostgreSQL and RabbitMQ via scripts/deps.sh, a fresh database, the service built in Release and started on a
# spare port with a generated API key and queues of its own, then tools/ConversationService.Evaluation.
# Usage: bash scripts/eval/run.sh [extra tool options, e.g. --conversations conv-26 --budgets 1000,2000]
# Env knobs: LOCOMO_DIR (../shared/data/locomo), SERVICE_PORT (first free from 5183), CONCURRENCY (4).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
locomo="${LOCOMO_DIR:-$root/../shared/data/locomo}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log() { echo "eval: $*"; }
[ -d "$locomo" ] || { log "LoCoMo data not found at $locomo (set LOCOMO_DIR)"; exit 2; }

bash scripts/deps.sh
source "$root/scripts/lib/postgres.sh"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port="${SERVICE_PORT:-}"
if [ -z "$port" ]; then
  port=5183
  while listening "$port"; do port=$((port + 1)); done
elif listening "$port"; then
  log "port $port is already in use"; exit 2
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$root/artifacts/eval/$stamp"
mkdir -p "$out"
suffix=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
database="cs_eval_$suffix"
prefix="eval-$suffix-"
service_pid=""

source "$root/scripts/lib/broker.sh"
cleanup() {
  if [ -n "$service_pid" ]; then
    kill "$service_pid" 2>/dev/null || true
    wait "$service_pid" 2>/dev/null || true
  fi
  dropdb --if-exists --force "$database" 2>/dev/null || true
  delete_broker_prefix "$prefix"
}
trap cleanup EXIT

log "building the service and the evaluation tool (Release)"
{
  dotnet build src/ConversationService -c Release -v q -nologo
  dotnet build tools/ConversationService.Evaluation -c Release -v q -nologo
} > "$out/build.txt" 2>&1 || { tail -20 "$out/build.txt"; exit 1; }

createdb "$database"
api_key="eval-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
log "starting the service on 127.0.0.1:$port (database $database, queue prefix $prefix)"
ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_URLS="http://127.0.0.1:$port" \
  ConnectionStrings__Postgres="$(postgres_connection "$database")" \
  ConnectionStrings__RabbitMq="amqp://guest:guest@localhost:5672/" \
  Auth__ApiKeys__0__Key="$api_key" Auth__ApiKeys__0__Tenant=eval \
  Messaging__EndpointPrefix="$prefix" \
  Logging__LogLevel__Default=Warning \
  dotnet src/ConversationService/bin/Release/net10.0/ConversationService.dll > "$out/service.log" 2>&1 &
service_pid=$!
ready=0
for _ in $(seq 1 120); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null; then ready=1; break; fi
  kill -0 "$service_pid" 2>/dev/null || break
  sleep 1
done
[ "$ready" = 1 ] || { log "service not ready"; tail -30 "$out/service.log"; exit 1; }

# Other work on the machine skews the latency figures; the log keeps how busy it was.
log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/machine.txt"
EVAL_API_KEY="$api_key" dotnet tools/ConversationService.Evaluation/bin/Release/net10.0/ConversationService.Evaluation.dll \
  --data "$locomo" --base-url "http://127.0.0.1:$port" --out "$out" --concurrency "${CONCURRENCY:-4}" "$@"
log "report: $out/report.md (chart.svg, results.json, per-question.csv beside it; service log service.log)"
