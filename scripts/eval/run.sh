#!/usr/bin/env bash
# The evaluation command, on loopback, self-contained and cleaning up after itself. Two parts, both on the LoCoMo data
# (read from LOCOMO_DIR, never copied into the repository):
# 1. The LoCoMo gates: the tests of trait Category=LoCoMo, which scripts/test.sh leaves out (tokenizer parity on the
#    LoCoMo turns, the in-process recall floors of the local model and the lexical hash within budget, prefix
#    stability, the summary cost per 1,000 ingested tokens). A missed gate makes the exit code 1.
# 2. The evidence-recall evaluation (issue 5) over HTTP: PostgreSQL and RabbitMQ via scripts/deps.sh, a fresh
#    database, the service built in Release and started on a spare port with a generated API key and queues of its
#    own, then tools/ConversationService.Evaluation, whose report has the figures and targets (not a gate).
# Usage: bash scripts/eval/run.sh [--gates-only | --no-gates] [extra tool options, e.g. --conversations conv-26 --budgets 1000,2000]
# Env knobs: LOCOMO_DIR (../shared/data/locomo), SERVICE_PORT (first free from 5183), CONCURRENCY (4).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
locomo="${LOCOMO_DIR:-$root/../shared/data/locomo}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log() { echo "eval: $*"; }
[ -d "$locomo" ] || { log "LoCoMo data not found at $locomo (set LOCOMO_DIR)"; exit 2; }
locomo="$(cd "$locomo" && pwd)"
gates=1 evaluation=1 tool_args=()
for arg in "$@"; do
  case "$arg" in
    --gates-only) evaluation=0 ;;
    --no-gates) gates=0 ;;
    *) tool_args+=("$arg") ;;
  esac
done

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

if [ "$gates" = 1 ]; then
  log "building the solution (Release)"
  dotnet build ConversationService.sln -c Release -v q -nologo > "$out/build.txt" 2>&1 || { tail -20 "$out/build.txt"; exit 1; }
else
  log "building the service and the evaluation tool (Release)"
  {
    dotnet build src/ConversationService -c Release -v q -nologo
    dotnet build tools/ConversationService.Evaluation -c Release -v q -nologo
  } > "$out/build.txt" 2>&1 || { tail -20 "$out/build.txt"; exit 1; }
fi

gates_rc=0
if [ "$gates" = 1 ]; then
  log "LoCoMo gates (dotnet test --filter Category=LoCoMo, data from $locomo)"
  # Detailed verbosity prints each gate's figures (its test output); the whole log is kept in gates.txt.
  LOCOMO_DIR="$locomo" ConnectionStrings__Postgres="$(postgres_connection postgres)" \
    ConnectionStrings__RabbitMq="amqp://guest:guest@localhost:5672/" \
    dotnet test ConversationService.sln -c Release --no-build --filter "Category=LoCoMo" \
      --logger "console;verbosity=detailed" --logger trx --results-directory "$out/gates" \
      --blame-hang-timeout 5m --blame-hang-dump-type none > "$out/gates.txt" 2>&1 || gates_rc=$?
  # Each gate's outcome and figures, and the message of a failed one (not its stack trace).
  awk '/^  (Passed|Failed) / { print; next } /^  Error Message:/ { error = 1; next } /^  Stack Trace:/ { error = 0; next }
       error || /^ [^ ]/ { print }' "$out/gates.txt"
  passed=$(cat "$out"/gates/*.trx 2>/dev/null | grep -o '<Counters [^>]*>' | sed -n 's/.* passed="\([0-9]*\)".*/\1/p' | awk '{ n += $1 } END { print n + 0 }')
  if [ "$gates_rc" -eq 0 ] && [ "$passed" -eq 0 ]; then
    log "no LoCoMo gate ran (no test of trait Category=LoCoMo found)"; gates_rc=1
  fi
  if [ "$gates_rc" -eq 0 ]; then
    log "LoCoMo gates: $passed passed (log: $out/gates.txt)"
  else
    log "LoCoMo gates FAILED (exit $gates_rc; log: $out/gates.txt)"
  fi
  if [ "$evaluation" = 0 ]; then
    [ "$gates_rc" -eq 0 ] || exit 1
    exit 0
  fi
fi

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
  --data "$locomo" --base-url "http://127.0.0.1:$port" --out "$out" --concurrency "${CONCURRENCY:-4}" ${tool_args[@]+"${tool_args[@]}"}
log "report: $out/report.md (chart.svg, results.json, per-question.csv beside it; service log service.log)"
if [ "$gates_rc" -ne 0 ]; then
  log "LoCoMo gates FAILED (exit $gates_rc; log: $out/gates.txt)"
  exit 1
fi
