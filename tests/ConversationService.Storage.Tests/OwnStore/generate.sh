#!/usr/bin/env bash
# Regenerates own-store.sql and expected.json: a database written by the service's own event store (the last commit
# before Marten, by default), through its HTTP API, and what that API answered. The import test restores the dump,
# starts today's service on it and expects the same answers.
#
#   tests/ConversationService.Storage.Tests/OwnStore/generate.sh [commit]
#
# Needs PostgreSQL and RabbitMQ as for the tests (ConnectionStrings__Postgres, ConnectionStrings__RabbitMq), dotnet,
# curl, jq and pg_dump.
set -euo pipefail

commit="${1:-e3ee9b4}"
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(git -C "$here" rev-parse --show-toplevel)"
admin="${ConnectionStrings__Postgres:-Host=localhost;Port=5432;Username=conversation_service;Password=conversation_service;Database=postgres}"
rabbit="${ConnectionStrings__RabbitMq:-amqp://guest:guest@localhost:5672/}"
work="$(mktemp -d)"
db="cs_own_store_$(date +%s)"
port=5199
pid=""

setting() { tr ';' '\n' <<<"$admin" | awk -F= -v k="$1" 'tolower($1) == tolower(k) { print $2 }'; }
export PGHOST="$(setting Host)" PGPORT="$(setting Port)" PGUSER="$(setting Username)" PGPASSWORD="$(setting Password)"

cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  psql -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

git -C "$repo" archive "$commit" | tar -x -C "$work"
dotnet build "$work/src/ConversationService" -c Release -v q -nologo >/dev/null
psql -q -d postgres -c "CREATE DATABASE $db" >/dev/null

key_a="own-store-key-tenant-a-0123456789"
key_b="own-store-key-tenant-b-9876543210"
dotnet "$work/src/ConversationService/bin/Release/net10.0/ConversationService.dll" \
  --urls "http://127.0.0.1:$port" --environment Production \
  --ConnectionStrings:Postgres="$(sed "s/Database=[^;]*/Database=$db/" <<<"$admin")" \
  --ConnectionStrings:RabbitMq="$rabbit" --Messaging:EndpointPrefix="own-store-$db-" \
  --Auth:ApiKeys:0:Key="$key_a" --Auth:ApiKeys:0:Tenant=tenant-a \
  --Auth:ApiKeys:1:Key="$key_b" --Auth:ApiKeys:1:Tenant=tenant-b \
  --Summaries:RecentWindowTokens=40 --Summaries:ThresholdTokens=30 \
  --Logging:LogLevel:Default=Warning >"$work/service.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && break; sleep 0.5; done

call() { # method key path [body]
  local args=(-sS -o /dev/stderr -w '%{http_code}' -X "$1" -H "Authorization: Bearer $2" "http://127.0.0.1:$port$3")
  [[ $# -ge 4 ]] && args+=(-H 'Content-Type: application/json' --data "$4")
  local status
  status=$(curl "${args[@]}" 2>/dev/null)
  [[ "$status" =~ ^2 ]] || { echo "$1 $3 -> $status" >&2; exit 1; }
}
turn() { # role content [extra json fields]
  jq -cn --arg role "$1" --arg content "$2" --argjson extra "${3:-{\}}" '{role: $role, content: $content} + $extra'
}
wait_summary() { # key conversation
  for _ in $(seq 1 120); do
    [[ "$(curl -sf -H "Authorization: Bearer $1" "http://127.0.0.1:$port/conversations/$2" | jq -r '.summary != null')" == true ]] && return
    sleep 0.5
  done
  echo "no summary for $2" >&2; exit 1
}

# tenant-a: a conversation with settings, named tool turns, client ids, explicit times, a summary and a settings change.
call PUT "$key_a" /conversations/support-1 '{"systemPrompt":"You are the support desk of Example Ltd.","model":"gpt-4o-mini","metadata":{"channel":"web","priority":2}}'
call POST "$key_a" /conversations/support-1/turns "{\"turns\":[$(turn user 'My router drops the connection every evening around eight.' '{"id":"t-1","occurredAt":"2026-11-02T19:58:12.345678+01:00","metadata":{"ip":"10.0.0.7"}}'),$(turn assistant 'Which model is it, and is the firmware up to date?' '{"id":"t-2"}')]}"
call POST "$key_a" /conversations/support-1/turns "$(turn user 'It is an RX-200, firmware 3.1 from last spring.' '{"occurredAt":"2026-11-02T20:01:00Z"}')"
call POST "$key_a" /conversations/support-1/turns "$(turn tool '{"model":"RX-200","latestFirmware":"3.4","knownIssues":["evening drop"]}' '{"name":"lookup_device"}')"
call POST "$key_a" /conversations/support-1/turns "$(turn assistant 'Firmware 3.4 fixes the evening drop. Please update through the admin page and restart.')"
call POST "$key_a" /conversations/support-1/turns "$(turn user 'Done, I updated it and restarted. I will watch it tonight.')"
wait_summary "$key_a" support-1
call PUT "$key_a" /conversations/support-1 '{"model":"gpt-4o","metadata":{"channel":"web","priority":1}}'
call POST "$key_a" /conversations/support-1/turns "$(turn user 'Update: it held all evening, thanks!' '{"id":"t-7"}')"

# tenant-a: created by its first turns, no settings.
call POST "$key_a" /conversations/support-2/turns "{\"turns\":[$(turn system 'Answer briefly.'),$(turn user 'What are your opening hours?'),$(turn assistant 'Monday to Friday, 8:00 to 18:00.')]}"

# tenant-a: summarized, then deleted: its events stay, erased.
call PUT "$key_a" /conversations/secret-1 '{"systemPrompt":"Private coaching session.","metadata":{"client":"Jane Roe"}}'
call POST "$key_a" /conversations/secret-1/turns "$(turn user 'My account number is 12345678 and my PIN is 4321, can you remember it?')"
call POST "$key_a" /conversations/secret-1/turns "$(turn assistant 'Please never share a PIN. I will not keep it.' '{"name":"coach"}')"
call POST "$key_a" /conversations/secret-1/turns "$(turn user 'Fine. Then tell me how to budget for a holiday in Lisbon next summer with two children.')"
wait_summary "$key_a" secret-1
call DELETE "$key_a" /conversations/secret-1

# tenant-a: documents (one replaced, one deleted) and examples (one replaced, one deleted).
call PUT "$key_a" /collections/manuals/documents/setup '{"text":"To set up the RX-200, connect the WAN port to your modem and open 192.168.1.1.","metadata":{"lang":"en"}}'
call PUT "$key_a" /collections/manuals/documents/faq '{"text":"Q: Why does my router drop the connection in the evening? A: Update to firmware 3.4 or later. Q: How do I reset it? A: Hold the reset button for ten seconds."}'
call PUT "$key_a" /collections/manuals/documents/old '{"text":"The RX-100 is no longer supported."}'
call PUT "$key_a" /collections/manuals/documents/setup '{"text":"To set up the RX-200, connect the WAN port to your modem, open 192.168.1.1 and follow the wizard.","metadata":{"lang":"en","rev":2}}'
call DELETE "$key_a" /collections/manuals/documents/old
call PUT "$key_a" /examples/greet '{"input":"hi","output":"Hello! How can I help you today?"}'
call PUT "$key_a" /examples/refund '{"input":"I want my money back","output":"I am sorry to hear that. Could you give me your order number?","task":"support"}'
call PUT "$key_a" /examples/bye '{"input":"bye","output":"Goodbye!"}'
call PUT "$key_a" /examples/greet '{"input":"hi there","output":"Hello! What can I do for you?"}'
call DELETE "$key_a" /examples/bye

# tenant-b: the same ids as tenant-a, other content.
call POST "$key_b" /conversations/support-1/turns "{\"turns\":[$(turn user 'Do you ship to Norway?' '{"id":"t-1"}'),$(turn assistant 'Yes, within five working days.' '{"id":"t-2"}')]}"
call PUT "$key_b" /collections/manuals/documents/setup '{"text":"Tenant B keeps its own setup notes."}'
call PUT "$key_b" /examples/greet '{"input":"hello","output":"Hi from tenant B."}'

# Context requests: the usage report's savings come from them.
curl -sf -H "Authorization: Bearer $key_a" "http://127.0.0.1:$port/conversations/support-1/context?budget=4000" >/dev/null
curl -sf -H "Authorization: Bearer $key_a" "http://127.0.0.1:$port/conversations/support-2/context?budget=4000&query=hours" >/dev/null

# Let the daemon publish and settle (its checkpoints are part of the dump).
sleep 3

# What the API answers now: the test expects the same after the import.
from="$(date -u -d "-180 days" +%Y-%m-%dT00:00:00Z)"; to="$(date -u -d "+180 days" +%Y-%m-%dT00:00:00Z)"
gets=(
  "a /conversations/support-1" "a /conversations/support-1/turns?limit=1000" "a /conversations/support-2"
  "a /conversations/support-2/turns?limit=1000" "a /conversations/secret-1" "a /conversations/secret-1/turns"
  "a /collections/manuals/documents" "a /collections/manuals/documents/setup" "a /collections/manuals/documents/faq"
  "a /collections/manuals/documents/old" "a /examples" "a /examples/greet" "a /examples/refund" "a /examples/bye"
  "a /usage?from=$from&to=$to&groupBy=conversation"
  "b /conversations/support-1" "b /conversations/support-1/turns?limit=1000" "b /collections/manuals/documents/setup"
  "b /examples" "b /conversations/support-2"
)
{
  echo '['
  sep=""
  for entry in "${gets[@]}"; do
    tenant="${entry%% *}"; path="${entry#* }"
    key=$([[ "$tenant" == a ]] && echo "$key_a" || echo "$key_b")
    body=$(curl -sS -H "Authorization: Bearer $key" -w '\n%{http_code}' "http://127.0.0.1:$port$path")
    status=$(tail -n1 <<<"$body"); body=$(sed '$d' <<<"$body")
    [[ "$status" == 200 ]] || body='null'
    printf '%s' "$sep"; jq -cn --arg tenant "tenant-$tenant" --arg path "$path" --argjson status "$status" --argjson body "$body" \
      '{tenant: $tenant, path: $path, status: $status, body: $body}'
    sep=","
  done
  echo ']'
} | jq . >"$here/expected.json"

kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
pg_dump -d "$db" --schema=conversations --no-owner --no-privileges --inserts --rows-per-insert=100 \
  | grep -v -E '^(SET |SELECT pg_catalog.set_config|\\)' >"$here/own-store.sql"
echo "wrote $here/own-store.sql and $here/expected.json ($(grep -c 'INSERT' "$here/own-store.sql") inserts)"
