using Npgsql;
using NpgsqlTypes;

namespace ConversationService.EventStore;

/// <summary>
/// Events for one stream, to be stored after <see cref="Version"/> (the version the writer knows), with their stored
/// type names and JSON. Serializing when the append is created makes an event that cannot be serialized fail its
/// own caller, never a group commit it would have joined.
/// </summary>
internal sealed record PendingAppend(
    string TenantId, string StreamId, long Version, IReadOnlyList<object> Events, string[] Types, string[] Data)
{
    public static PendingAppend Create(
        EventTypeRegistry registry, string tenantId, string streamId, long version, IReadOnlyList<object> events)
    {
        var (types, data) = (new string[events.Count], new string[events.Count]);
        for (var i = 0; i < events.Count; i++)
        {
            var payload = events[i] ?? throw new ArgumentException("Events must not be null.", nameof(events));
            data[i] = registry.Serialize(payload, out types[i]);
        }
        return new(tenantId, streamId, version, events, types, data);
    }
}

/// <summary>
/// The commands that store appends, sent as one batch (one round trip, COMMIT included; when a command fails the
/// server skips the rest). However many events, the events take one statement.
/// </summary>
internal static class AppendCommands
{
    /// <summary>
    /// One stream whose row the caller has locked in <paramref name="transaction"/>: the events, the stream's new
    /// version (and archived flag), the inline projections, COMMIT.
    /// </summary>
    public static async Task<StoredEvent[]> ExecuteAsync(
        EventStore store, NpgsqlConnection connection, NpgsqlTransaction transaction, PendingAppend append, bool archive,
        CancellationToken cancellationToken)
    {
        var now = store.Time.GetUtcNow();
        await using var batch = new NpgsqlBatch(connection, transaction);
        var stored = AddEvents(store, batch, [append], now);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(store.Sql.UpdateStream)
        {
            Parameters =
            {
                new NpgsqlParameter<string> { TypedValue = append.TenantId },
                new NpgsqlParameter<string> { TypedValue = append.StreamId },
                new NpgsqlParameter<long> { TypedValue = append.Version + append.Events.Count },
                new NpgsqlParameter<DateTimeOffset> { TypedValue = now },
                new NpgsqlParameter<bool> { TypedValue = archive },
            },
        });
        if (stored[0].Length > 0)
        {
            var inline = new InlineBatch(batch, store.Options.Schema, append.TenantId, append.StreamId);
            foreach (var projection in store.InlineProjections)
            {
                projection.Apply(inline, stored[0]);
            }
        }
        await CommitAsync(batch, stored, locks: 0, cancellationToken);
        return stored[0];
    }

    /// <summary>
    /// Appends to several streams (at most one each, none empty) in the open
    /// <paramref name="transaction"/>: one lock statement that fails with <see cref="Sql.StreamMoved"/> unless every
    /// stream is still at its append's version (the error's hint is the 1-based position of one that is not),
    /// then every event, then the inline projections, then COMMIT. The lock comes first: it gives the transaction its
    /// xid before any seq_id is drawn (see <see cref="Gaps"/>).
    /// </summary>
    public static async Task<StoredEvent[][]> ExecuteAtVersionsAsync(
        EventStore store, NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<PendingAppend> appends,
        CancellationToken cancellationToken)
    {
        var now = store.Time.GetUtcNow();
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(store.Sql.LockStreamsAtVersions)
        {
            Parameters =
            {
                new NpgsqlParameter<string[]> { TypedValue = [.. appends.Select(a => a.TenantId)] },
                new NpgsqlParameter<string[]> { TypedValue = [.. appends.Select(a => a.StreamId)] },
                new NpgsqlParameter<long[]> { TypedValue = [.. appends.Select(a => a.Version)] },
                new NpgsqlParameter<long[]> { TypedValue = [.. appends.Select(a => a.Version + a.Events.Count)] },
                new NpgsqlParameter<DateTimeOffset> { TypedValue = now },
            },
        });
        var stored = AddEvents(store, batch, appends, now);
        var inline = new InlineBatch(batch, store.Options.Schema, "", "");
        foreach (var projection in store.InlineProjections)
        {
            projection.ApplyMany(inline, stored);
        }
        await CommitAsync(batch, stored, locks: 1, cancellationToken);
        return stored;
    }

    /// <summary>The one statement inserting every event of <paramref name="appends"/>; their Sequence is filled in later.</summary>
    private static StoredEvent[][] AddEvents(
        EventStore store, NpgsqlBatch batch, IReadOnlyList<PendingAppend> appends, DateTimeOffset now)
    {
        var count = appends.Sum(a => a.Events.Count);
        var (ids, tenants, streams, versions, types, data) =
            (new Guid[count], new string[count], new string[count], new long[count], new string[count], new string[count]);
        var stored = new StoredEvent[appends.Count][];
        var row = 0;
        for (var a = 0; a < appends.Count; a++)
        {
            var append = appends[a];
            stored[a] = new StoredEvent[append.Events.Count];
            for (var i = 0; i < append.Events.Count; i++, row++)
            {
                (data[row], types[row]) = (append.Data[i], append.Types[i]);
                (ids[row], tenants[row], streams[row], versions[row]) =
                    (Guid.CreateVersion7(now), append.TenantId, append.StreamId, append.Version + i + 1);
                stored[a][i] = new StoredEvent(
                    0, ids[row], append.TenantId, append.StreamId, versions[row], types[row], append.Events[i], now);
            }
        }
        if (count > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(store.Sql.InsertEvents)
            {
                Parameters =
                {
                    new NpgsqlParameter<Guid[]> { TypedValue = ids },
                    new NpgsqlParameter<string[]> { TypedValue = tenants },
                    new NpgsqlParameter<string[]> { TypedValue = streams },
                    new NpgsqlParameter<long[]> { TypedValue = versions },
                    new NpgsqlParameter<string[]> { TypedValue = types },
                    new NpgsqlParameter { Value = data, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb },
                    new NpgsqlParameter<DateTimeOffset> { TypedValue = now },
                },
            });
        }
        return stored;
    }

    /// <summary>
    /// Adds COMMIT, runs the batch and fills in the sequence numbers the event insert returned, after
    /// <paramref name="locks"/> lock results. Every result is read, so a failing projection command or the commit
    /// surfaces here.
    /// </summary>
    private static async Task CommitAsync(NpgsqlBatch batch, StoredEvent[][] stored, int locks, CancellationToken cancellationToken)
    {
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        for (var l = 0; l < locks; l++)
        {
            await reader.NextResultAsync(cancellationToken);
        }
        if (stored.Any(s => s.Length > 0))
        {
            var positions = new Dictionary<(string, string), StoredEvent[]>();
            foreach (var events in stored.Where(s => s.Length > 0))
            {
                positions[(events[0].TenantId, events[0].StreamId)] = events;
            }
            while (await reader.ReadAsync(cancellationToken))
            {
                var events = positions[(reader.GetString(1), reader.GetString(2))];
                var i = (int)(reader.GetInt64(3) - events[0].Version);
                events[i] = events[i] with { Sequence = reader.GetInt64(0) };
            }
        }
        while (await reader.NextResultAsync(cancellationToken))
        {
        }
    }
}
