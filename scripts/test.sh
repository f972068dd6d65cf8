#!/usr/bin/env bash
# The README's test command: starts PostgreSQL and RabbitMQ (installing them when absent), then runs
# every test project of the solution against them. Exit code = test result. Needs root on a fresh machine.
# It needs nothing beside the clone: the tests that read the LoCoMo data (trait Category=LoCoMo) are the
# evaluation command's gates (scripts/eval/run.sh) and are left out here.
set -uo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

bash scripts/deps.sh || { echo "test: starting PostgreSQL/RabbitMQ failed"; exit 2; }

# The project's role (it creates a database per test fixture); the cluster deps.sh started may not be on 5432.
source scripts/lib/postgres.sh
export ConnectionStrings__Postgres="${ConnectionStrings__Postgres:-$(postgres_connection postgres)}"
export ConnectionStrings__RabbitMq="${ConnectionStrings__RabbitMq:-amqp://guest:guest@localhost:5672/}"

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

dotnet restore ConversationService.sln || { echo "0 passed, 1 failed"; echo "test: dotnet restore failed"; exit 1; }

# A hung test dumps and aborts its project instead of eating the whole CI budget.
dotnet test ConversationService.sln -c Release --no-restore --filter "Category!=LoCoMo" \
  --logger "console;verbosity=normal" --logger trx --results-directory "$results" \
  --blame-hang-timeout 5m --blame-hang-dump-type none
rc=$?

# One TRX per test project; the Counters element holds that project's totals.
passed=0 failed=0 skipped=0 files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  total=$(get total); executed=$(get executed); p=$(get passed); f=$(get failed); e=$(get error); t=$(get timeout); a=$(get aborted)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0} + ${a:-0}))
  skipped=$((skipped + ${total:-0} - ${executed:-0}))
done

echo
echo "test: $files test project(s) reported results; dotnet test exit code $rc"
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # A build error or a crashed test host fails the run without a failed test in any TRX file.
  echo "test: the run failed outside any test (build error, crash or hang); counted as 1 failure"
  failed=1
fi
# The console log is long; repeat each failed test, its message and stack trace at the end.
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  awk '/<UnitTestResult / && /outcome="(Failed|Error|Timeout|Aborted)"/ {
         match($0, /testName="[^"]*"/); print "FAILED: " substr($0, RSTART + 10, RLENGTH - 11); want = 1; info = "" }
       want { info = info $0 "\n" }
       # The message and the top of the stack trace, up to 30 lines: enough to tell what was thrown.
       want && /<\/UnitTestResult>/ {
         want = 0
         if (!match(info, /<ErrorInfo>.*<\/ErrorInfo>/)) next
         info = substr(info, RSTART, RLENGTH); gsub(/<[^>]*>/, "\n", info)
         n = split(info, lines, "\n"); shown = 0
         for (i = 1; i <= n && shown < 30; i++) if (lines[i] ~ /[^ ]/) { print "  " substr(lines[i], 1, 300); shown++ }
       }' "$trx"
done
summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
exit "$rc"
