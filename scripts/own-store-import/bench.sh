#!/usr/bin/env bash
# Measures the import of the own event store into Marten (README, "Upgrading from the own event store"): generates a
# database in the own store's schema (tests/ConversationService.Storage.Tests/OwnStore/own-store.sql, emptied) with
# EVENTS events (default 50000) in CONVERSATIONS conversations (default 1000) of two tenants, interleaved as live
# traffic is, then runs `ConversationService own-store-import` on it and reports events per second.
#
#   scripts/own-store-import/bench.sh [events] [conversations]
#
# Needs PostgreSQL (scripts/deps.sh) and a Release build of the service (dotnet build -c Release).
set -euo pipefail
cd "$(dirname "$0")/../.."
events="${1:-50000}"
conversations="${2:-1000}"
per=$((events / conversations))
source scripts/lib/postgres.sh
db="cs_import_bench_$(date +%s)"
service=src/ConversationService/bin/Release/net10.0/ConversationService.dll
[ -f "$service" ] || dotnet build src/ConversationService -c Release -v q -nologo >/dev/null
trap 'psql -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null' EXIT

psql -q -d postgres -c "CREATE DATABASE $db" >/dev/null
psql -q -d "$db" -f tests/ConversationService.Storage.Tests/OwnStore/own-store.sql >/dev/null
psql -q -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL
TRUNCATE conversations.events, conversations.streams, conversations.progression, conversations.summary_requests,
  conversations.conversations, conversations.turns, conversations.conversation_summaries;
-- One conversation_started and then turns per conversation; seq_id follows the rounds, so conversations interleave.
INSERT INTO conversations.events (id, tenant_id, stream_id, version, type, data, "timestamp")
SELECT gen_random_uuid(), 'tenant-' || (c % 2), 'conversation-' || c, v,
       CASE WHEN v = 1 THEN 'conversation_started' ELSE 'turn_appended' END,
       CASE WHEN v = 1
         THEN jsonb_build_object('tenant', 'tenant-' || (c % 2), 'id', 'conversation-' || c, 'systemPrompt', 'You are a helpful assistant.',
                                 'model', 'gpt-4o', 'metadata', null, 'startedAt', at)
         ELSE jsonb_build_object('turnId', 'turn-' || v, 'index', v - 1, 'role', CASE WHEN v % 2 = 0 THEN 'user' ELSE 'assistant' END,
                                 'content', repeat('The quick brown fox jumps over the lazy dog. ', 6), 'name', null,
                                 'occurredAt', at, 'tokens', 60, 'encoding', 'o200k_base', 'metadata', null)
       END,
       at
FROM generate_series(1, $conversations) c, generate_series(1, $per) v,
     LATERAL (SELECT timestamptz '2026-01-01' + ((v * $conversations + c) * interval '1 second') AS at) t
ORDER BY v, c;
INSERT INTO conversations.streams (tenant_id, id, type, version, created, updated)
SELECT tenant_id, stream_id, 'conversation', max(version), min("timestamp"), max("timestamp") FROM conversations.events GROUP BY 1, 2;
INSERT INTO conversations.progression (name, last_seq_id) SELECT n, max(seq_id) FROM conversations.events, unnest(ARRAY['integration_events', 'summary_trigger']) n GROUP BY n;
SQL
echo "own-store-import: $(psql -tA -d "$db" -c 'SELECT count(*) FROM conversations.events') events in $conversations conversations"

ConnectionStrings__Postgres="$(postgres_connection "$db")" Logging__LogLevel__Default=Warning Logging__LogLevel__ConversationService=Information \
  ConnectionStrings__RabbitMq="${ConnectionStrings__RabbitMq:-amqp://guest:guest@localhost:5672/}" \
  dotnet "$service" own-store-import | grep -v "^ *$" | grep -i -E "copied|imported"
psql -tA -d "$db" -c "SELECT 'own-store-import: Marten holds ' || count(*) || ' events, ' || (SELECT count(*) FROM conversations.mt_doc_turnview) || ' turns' FROM conversations.mt_events"
