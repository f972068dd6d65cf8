using System.Text.Json;
using ConversationService.EventStore;
using ConversationService.Hosting;
using ConversationService.Summaries;
using Npgsql;

namespace ConversationService.Conversations;

public sealed record ConversationRow(
    string Id, long Version, string Model, string? SystemPrompt, string? Metadata, int TurnCount, long TotalTokens,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record TurnRow(
    string Id, int Index, string Role, string Content, string? Name, DateTimeOffset OccurredAt, int Tokens,
    string Encoding, long Version, string? Metadata);

/// <summary>A turn without its content: what context assembly needs to plan a window cheaply.</summary>
public sealed record TurnHeader(string Id, int Index, string Role, string? Name, int Tokens, string Encoding);

/// <summary>
/// The conversation read model, kept by an inline projection inside the append transaction, so a reader never
/// sees a turn without its conversation's counters. Deleting a conversation deletes its rows, and the delete erases
/// the content of its events (see DeleteConversation): the log keeps the facts, not the texts.
/// </summary>
public sealed class ConversationProjection : IInlineProjection
{
    /// <summary>Unique (tenant_id, conversation_id, turn_id): the final word on turn-id idempotency.</summary>
    public const string TurnIdConstraint = "turns_turn_id_unique";

    public string Ddl(string schema) => $"""
        CREATE TABLE IF NOT EXISTS {schema}.conversations (
            tenant_id     text        NOT NULL,
            id            text        NOT NULL,
            version       bigint      NOT NULL,
            model         text        NOT NULL,
            system_prompt text        NULL,
            metadata      jsonb       NULL,
            turn_count    integer     NOT NULL DEFAULT 0,
            total_tokens  bigint      NOT NULL DEFAULT 0,
            created_at    timestamptz NOT NULL,
            updated_at    timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, id));
        CREATE TABLE IF NOT EXISTS {schema}.turns (
            tenant_id       text        NOT NULL,
            conversation_id text        NOT NULL,
            idx             integer     NOT NULL,
            turn_id         text        NOT NULL,
            role            text        NOT NULL,
            content         text        NOT NULL,
            name            text        NULL,
            occurred_at     timestamptz NOT NULL,
            tokens          integer     NOT NULL,
            encoding        text        NOT NULL,
            version         bigint      NOT NULL,
            metadata        jsonb       NULL,
            PRIMARY KEY (tenant_id, conversation_id, idx),
            CONSTRAINT {TurnIdConstraint} UNIQUE (tenant_id, conversation_id, turn_id));
        CREATE OR REPLACE FUNCTION {schema}.add_turn_counters(
            p_tenants text[], p_ids text[], p_turns integer[], p_tokens bigint[], p_versions bigint[],
            p_updated timestamptz[]) RETURNS void
        LANGUAGE plpgsql AS $fn$
        DECLARE
            c record;
        BEGIN
            -- One primary-key update per conversation, in (tenant, id) order like lock_streams_at_versions: a single
            -- call instead of a statement each, and no set-based join (planned generically, it would scan the table).
            FOR c IN SELECT u.tenant_id, u.id, u.turns, u.tokens, u.version, u.updated_at
                     FROM unnest(p_tenants, p_ids, p_turns, p_tokens, p_versions, p_updated)
                         AS u(tenant_id, id, turns, tokens, version, updated_at)
                     ORDER BY u.tenant_id, u.id
            LOOP
                UPDATE {schema}.conversations
                SET turn_count = turn_count + c.turns, total_tokens = total_tokens + c.tokens,
                    version = c.version, updated_at = c.updated_at
                WHERE tenant_id = c.tenant_id AND id = c.id;
            END LOOP;
        END
        $fn$;
        """;

    public void Apply(InlineBatch batch, IReadOnlyList<StoredEvent> events)
    {
        var pending = new List<(StoredEvent Stored, TurnAppended Turn)>();
        var deleted = false;
        foreach (var stored in events)
        {
            if (stored.Data is TurnAppended turn)
            {
                pending.Add((stored, turn));
                continue;
            }
            switch (stored.Data)
            {
                case ConversationStarted started:
                    batch.Add(
                        $"""
                        INSERT INTO {batch.Schema}.conversations
                            (tenant_id, id, version, model, system_prompt, metadata, created_at, updated_at)
                        VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $7)
                        """,
                        batch.TenantId, batch.StreamId, stored.Version, started.Model, Db(started.SystemPrompt),
                        Db(started.Metadata), started.StartedAt.UtcDateTime);
                    break;
                case ConversationSettingsChanged changed:
                    batch.Add(
                        $"""
                        UPDATE {batch.Schema}.conversations
                        SET system_prompt = COALESCE($3, system_prompt), model = COALESCE($4, model),
                            metadata = COALESCE($5::jsonb, metadata)
                        WHERE tenant_id = $1 AND id = $2
                        """,
                        batch.TenantId, batch.StreamId, Db(changed.SystemPrompt), Db(changed.Model), Db(changed.Metadata));
                    break;
                case ConversationDeleted:
                    deleted = true;
                    break;
            }
        }
        if (deleted)
        {
            // Turns appended in the same batch never reach the table: the conversation is gone with this append.
            batch.Add($"DELETE FROM {batch.Schema}.turns WHERE tenant_id = $1 AND conversation_id = $2",
                batch.TenantId, batch.StreamId);
            batch.Add($"DELETE FROM {batch.Schema}.conversations WHERE tenant_id = $1 AND id = $2",
                batch.TenantId, batch.StreamId);
            return;
        }
        InsertTurns(batch, pending);
        if (events.Count > 0)
        {
            UpdateCounters(batch, [(batch.TenantId, batch.StreamId, [.. pending.Select(p => p.Turn)], events[^1])]);
        }
    }

    /// <summary>
    /// Group commit: appends of nothing but turns (what a chat writes) share one insert of every turn, then each
    /// conversation's counters are updated; any other append is applied on its own.
    /// </summary>
    public void ApplyMany(InlineBatch batch, IReadOnlyList<IReadOnlyList<StoredEvent>> appends)
    {
        var turnsOnly = new List<IReadOnlyList<StoredEvent>>(appends.Count);
        foreach (var events in appends)
        {
            if (events.All(e => e.Data is TurnAppended))
            {
                turnsOnly.Add(events);
            }
            else
            {
                Apply(batch.For(events[0].TenantId, events[0].StreamId), events);
            }
        }
        if (turnsOnly.Count == 0)
        {
            return;
        }
        InsertTurns(batch, [.. turnsOnly.SelectMany(events => events.Select(e => (e, (TurnAppended)e.Data)))]);
        UpdateCounters(batch, [.. turnsOnly.Select(events =>
            (events[0].TenantId, events[0].StreamId, events.Select(e => (TurnAppended)e.Data).ToArray(), events[^1]))]);
    }

    /// <summary>
    /// Counters, version and timestamp of each appended-to conversation, in one call of <c>add_turn_counters</c>
    /// (one primary-key update each, in (tenant, id) order). <c>Last</c> is the append's last event, whatever its kind.
    /// </summary>
    private static void UpdateCounters(
        InlineBatch batch, IReadOnlyList<(string Tenant, string Id, TurnAppended[] Turns, StoredEvent Last)> appends) =>
        batch.Add(
            $"SELECT {batch.Schema}.add_turn_counters($1, $2, $3, $4, $5, $6)",
            appends.Select(a => a.Tenant).ToArray(),
            appends.Select(a => a.Id).ToArray(),
            appends.Select(a => a.Turns.Length).ToArray(),
            appends.Select(a => a.Turns.Sum(t => (long)t.Tokens)).ToArray(),
            appends.Select(a => a.Last.Version).ToArray(),
            appends.Select(a => a.Last.Timestamp.UtcDateTime).ToArray());

    // One multi-row insert per append (or per group commit) keeps a 1,000-turn batch a single statement.
    private static void InsertTurns(InlineBatch batch, List<(StoredEvent Stored, TurnAppended Turn)> pending)
    {
        if (pending.Count == 0)
        {
            return;
        }
        batch.Add(
            $"""
            INSERT INTO {batch.Schema}.turns
                (tenant_id, conversation_id, idx, turn_id, role, content, name, occurred_at, tokens, encoding, version, metadata)
            SELECT t.tenant_id, t.conversation_id, t.idx, t.turn_id, t.role, t.content, t.name, t.occurred_at, t.tokens,
                   t.encoding, t.version, t.metadata::jsonb
            FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::text[], $7::text[],
                        $8::timestamptz[], $9::integer[], $10::text[], $11::bigint[], $12::text[])
                AS t(tenant_id, conversation_id, idx, turn_id, role, content, name, occurred_at, tokens, encoding, version, metadata)
            """,
            pending.Select(p => p.Stored.TenantId).ToArray(),
            pending.Select(p => p.Stored.StreamId).ToArray(),
            pending.Select(p => p.Turn.Index).ToArray(),
            pending.Select(p => p.Turn.TurnId).ToArray(),
            pending.Select(p => p.Turn.Role).ToArray(),
            pending.Select(p => p.Turn.Content).ToArray(),
            pending.Select(p => p.Turn.Name).ToArray(),
            pending.Select(p => p.Turn.OccurredAt.UtcDateTime).ToArray(),
            pending.Select(p => p.Turn.Tokens).ToArray(),
            pending.Select(p => p.Turn.Encoding).ToArray(),
            pending.Select(p => p.Stored.Version).ToArray(),
            pending.Select(p => p.Turn.Metadata?.GetRawText()).ToArray());
    }

    private static object Db(string? value) => value is null ? DBNull.Value : value;

    private static object Db(JsonElement? value) => value is { } json ? json.GetRawText() : DBNull.Value;
}

/// <summary>Tenant-scoped reads of the conversation read model. Every query filters by tenant first.</summary>
public sealed class ConversationQueries(NpgsqlDataSource dataSource, DatabaseSchema schema, ConversationSnapshots snapshots)
{
    private const string ConversationColumns =
        "id, version, model, system_prompt, metadata::text, turn_count, total_tokens, created_at, updated_at";
    private const string TurnColumns =
        "turn_id, idx, role, content, name, occurred_at, tokens, encoding, version, metadata::text";

    public async Task<ConversationRow?> GetConversationAsync(string tenant, string id, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var command = new NpgsqlCommand(
            $"SELECT {ConversationColumns} FROM {schema.Name}.conversations WHERE tenant_id = $1 AND id = $2",
            connection);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = id });
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadConversation(reader) : null;
    }

    /// <summary>The conversation row for the write session's lock round trip ($1 tenant, $2 conversation id).</summary>
    public string ConversationForWriteSql =>
        $"SELECT {ConversationColumns} FROM {schema.Name}.conversations WHERE tenant_id = $1 AND id = $2";

    public static async Task<ConversationRow?> ReadConversationAsync(NpgsqlDataReader reader, CancellationToken ct) =>
        await reader.ReadAsync(ct) ? ReadConversation(reader) : null;

    /// <summary>Inside a write session, so the rows are stable while the stream lock is held.</summary>
    public async Task<IReadOnlyList<TurnRow>> GetTurnsByIdsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string tenant, string conversationId,
        string[] turnIds, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            SELECT {TurnColumns} FROM {schema.Name}.turns
            WHERE tenant_id = $1 AND conversation_id = $2 AND turn_id = ANY($3)
            """,
            connection, transaction);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = conversationId });
        command.Parameters.Add(new() { Value = turnIds });
        return await ReadTurnsAsync(command, ct);
    }

    /// <summary>Turns with index in (after, throughIndex], oldest first, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<TurnRow>> GetTurnsAsync(
        string tenant, string conversationId, int after, int throughIndex, int limit, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var command = new NpgsqlCommand(
            $"""
            SELECT {TurnColumns} FROM {schema.Name}.turns
            WHERE tenant_id = $1 AND conversation_id = $2 AND idx > $3 AND idx <= $4
            ORDER BY idx LIMIT $5
            """,
            connection);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = conversationId });
        command.Parameters.Add(new() { Value = after });
        command.Parameters.Add(new() { Value = throughIndex });
        command.Parameters.Add(new() { Value = limit });
        return await ReadTurnsAsync(command, ct);
    }

    /// <summary>
    /// The conversation and its turns without content, oldest first, in one round trip. The turns are read after
    /// the row and are append-only, so cutting them at the row's turn count gives the state the row describes.
    /// A snapshot of this replica's last read makes that round trip a probe: the row, the stored turn at the
    /// snapshot's last index (the same version means the same turn, so the snapshot is still a prefix: versions are
    /// never reused in a stream) and only the turns after it, with content, which extend the snapshot.
    /// The current summary rides in the same round trip (read first, so it never describes turns the row does not
    /// have); it is for reading a context only, the summarizer reads its own inside its write session.
    /// </summary>
    public async Task<(ConversationRow Conversation, IReadOnlyList<TurnHeader> Turns, CurrentSummary? Summary)?> GetContextSourcesAsync(
        string tenant, string conversationId, CancellationToken ct)
    {
        var cached = snapshots.Get(tenant, conversationId);
        var read = await ReadFromAsync(tenant, conversationId, cached, ct);
        if (read is null && cached is not null)
        {
            read = await ReadFromAsync(tenant, conversationId, null, ct); // the snapshot no longer matched
        }
        if (read is not var (conversation, snapshot, summary))
        {
            snapshots.Remove(tenant, conversationId);
            return null;
        }
        if (snapshot.Count == conversation.TurnCount)
        {
            snapshots.Put(tenant, conversationId, snapshot);
        }
        return (conversation, Array.AsReadOnly(snapshot.Headers), summary);
    }

    /// <summary>
    /// Null when the conversation is gone (or, with <paramref name="cached"/>, when the snapshot no longer matches);
    /// otherwise the row and a snapshot of at most its turn count turns, validated now.
    /// </summary>
    private async Task<(ConversationRow Conversation, ConversationSnapshot Snapshot, CurrentSummary? Summary)?> ReadFromAsync(
        string tenant, string conversationId, ConversationSnapshot? cached, CancellationToken ct)
    {
        var known = cached?.Count ?? 0;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                SummaryQueries.BatchCommand(schema.Name, tenant, conversationId),
                new NpgsqlBatchCommand(
                    $"SELECT {ConversationColumns} FROM {schema.Name}.conversations WHERE tenant_id = $1 AND id = $2")
                {
                    Parameters = { new() { Value = tenant }, new() { Value = conversationId } },
                },
                new NpgsqlBatchCommand(
                    $"""
                    SELECT turn_id, idx, role, name, tokens, encoding, version, CASE WHEN idx > $3 THEN content END
                    FROM {schema.Name}.turns
                    WHERE tenant_id = $1 AND conversation_id = $2 AND idx >= $3
                    ORDER BY idx
                    """)
                {
                    Parameters = { new() { Value = tenant }, new() { Value = conversationId }, new() { Value = known } },
                },
            },
        };
        var validatedAt = snapshots.Now();
        await using var reader = await batch.ExecuteReaderAsync(ct);
        var summary = await SummaryQueries.ReadAsync(reader, ct);
        await reader.NextResultAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }
        var conversation = ReadConversation(reader);
        await reader.NextResultAsync(ct);
        if (cached is not null
            && (conversation.TurnCount < known || !await reader.ReadAsync(ct)
                || reader.GetInt32(1) != known || reader.GetInt64(6) != cached.LastTurnVersion))
        {
            return null;
        }
        if (cached is not null && known == conversation.TurnCount)
        {
            return (conversation, cached with { ValidatedAt = validatedAt }, summary);
        }
        var headers = new List<TurnHeader>(conversation.TurnCount);
        var contents = new List<string>(conversation.TurnCount);
        if (cached is not null)
        {
            headers.AddRange(cached.Headers);
            contents.AddRange(cached.Contents);
        }
        var lastVersion = cached?.LastTurnVersion ?? 0;
        while (headers.Count < conversation.TurnCount && await reader.ReadAsync(ct) && reader.GetInt32(1) == headers.Count + 1)
        {
            headers.Add(new TurnHeader(
                reader.GetString(0), reader.GetInt32(1), reader.GetString(2), NullableString(reader, 3),
                reader.GetInt32(4), reader.GetString(5)));
            lastVersion = reader.GetInt64(6);
            contents.Add(reader.GetString(7));
        }
        return (conversation, new ConversationSnapshot([.. headers], [.. contents], lastVersion, validatedAt), summary);
    }

    /// <summary>
    /// Content of the given turns, keyed by index; missing indexes are left out. Right after
    /// <see cref="GetContextSourcesAsync"/> it comes from the snapshot that call validated.
    /// </summary>
    public async Task<Dictionary<int, string>> GetContentsAsync(
        string tenant, string conversationId, int[] indexes, CancellationToken ct)
    {
        var contents = new Dictionary<int, string>(indexes.Length);
        if (indexes.Length == 0)
        {
            return contents;
        }
        if (snapshots.GetFresh(tenant, conversationId) is { } snapshot && indexes.All(i => i >= 1 && i <= snapshot.Count))
        {
            foreach (var index in indexes)
            {
                contents[index] = snapshot.Contents[index - 1];
            }
            return contents;
        }
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var command = new NpgsqlCommand(
            $"""
            SELECT idx, content FROM {schema.Name}.turns
            WHERE tenant_id = $1 AND conversation_id = $2 AND idx = ANY($3)
            """,
            connection);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = conversationId });
        command.Parameters.Add(new() { Value = indexes });
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            contents[reader.GetInt32(0)] = reader.GetString(1);
        }
        return contents;
    }

    private static ConversationRow ReadConversation(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetInt64(1), reader.GetString(2), NullableString(reader, 3),
        NullableString(reader, 4), reader.GetInt32(5), reader.GetInt64(6),
        reader.GetFieldValue<DateTimeOffset>(7), reader.GetFieldValue<DateTimeOffset>(8));

    private static async Task<IReadOnlyList<TurnRow>> ReadTurnsAsync(NpgsqlCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await ReadTurnsAsync(reader, ct);
    }

    private static async Task<IReadOnlyList<TurnRow>> ReadTurnsAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var turns = new List<TurnRow>();
        while (await reader.ReadAsync(ct))
        {
            turns.Add(new TurnRow(
                reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetString(3),
                NullableString(reader, 4), reader.GetFieldValue<DateTimeOffset>(5), reader.GetInt32(6),
                reader.GetString(7), reader.GetInt64(8), NullableString(reader, 9)));
        }
        return turns;
    }

    private static string? NullableString(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
