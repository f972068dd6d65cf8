using Npgsql;
using NpgsqlTypes;

namespace ConversationService.EventStore;

/// <summary>Events for one stream, to be stored after <see cref="Version"/> (the version the writer knows).</summary>
internal sealed record PendingAppend(string TenantId, string StreamId, long Version, IReadOnlyList<object> Events);

/// <summary>A command of the append at <see cref="Index"/> failed; the transaction is aborted and nothing is stored.</summary>
internal sealed class RejectedAppendException(int index, PostgresException error)
    : Exception($"Append {index} of the batch failed: {error.MessageText}", error)
{
    public int Index { get; } = index;
    public PostgresException Error { get; } = error;
}

/// <summary>
/// The commands that store appends: one batch, one round trip, COMMIT included. When any command fails the server
/// skips the rest, COMMIT included.
/// </summary>
internal static class AppendCommands
{
    /// <summary>
    /// Stores <paramref name="appends"/> (at most one per stream) in the open <paramref name="transaction"/> and commits.
    /// With <paramref name="lockAtVersion"/> each stream is locked first by <see cref="Sql.LockStreamAtVersion"/>, which
    /// fails unless it is still at the append's version; otherwise the caller holds the locks already and the stream
    /// rows are updated (archived set to <paramref name="archive"/>). Locks come first, then every event, then the
    /// inline projections: the first lock gives the transaction its xid before any seq_id is drawn (see
    /// <see cref="Gaps"/>). A server error in a command of one append throws <see cref="RejectedAppendException"/>
    /// naming that append.
    /// </summary>
    public static async Task<StoredEvent[][]> ExecuteAsync(
        EventStore store, NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<PendingAppend> appends,
        bool lockAtVersion, bool archive, CancellationToken cancellationToken)
    {
        var sql = store.Sql;
        var now = store.Time.GetUtcNow();
        var stored = new StoredEvent[appends.Count][];
        await using var batch = new NpgsqlBatch(connection, transaction);
        // Which append each command belongs to, in command order (COMMIT belongs to none).
        var owners = new List<int>();
        void Add(int append, NpgsqlBatchCommand command)
        {
            batch.BatchCommands.Add(command);
            owners.Add(append);
        }

        if (lockAtVersion)
        {
            for (var a = 0; a < appends.Count; a++)
            {
                var append = appends[a];
                Add(a, new NpgsqlBatchCommand(sql.LockStreamAtVersion)
                {
                    Parameters =
                    {
                        new NpgsqlParameter<string> { TypedValue = append.TenantId },
                        new NpgsqlParameter<string> { TypedValue = append.StreamId },
                        new NpgsqlParameter<long> { TypedValue = append.Version },
                        new NpgsqlParameter<long> { TypedValue = append.Version + append.Events.Count },
                        new NpgsqlParameter<DateTimeOffset> { TypedValue = now },
                    },
                });
            }
        }

        for (var a = 0; a < appends.Count; a++)
        {
            var append = appends[a];
            stored[a] = new StoredEvent[append.Events.Count];
            for (var i = 0; i < append.Events.Count; i++)
            {
                var data = append.Events[i] ?? throw new ArgumentException("Events must not be null.", nameof(appends));
                var json = store.Types.Serialize(data, out var type);
                var id = Guid.CreateVersion7(now);
                var version = append.Version + i + 1;
                Add(a, new NpgsqlBatchCommand(sql.InsertEvent)
                {
                    Parameters =
                    {
                        new NpgsqlParameter<Guid> { TypedValue = id },
                        new NpgsqlParameter<string> { TypedValue = append.TenantId },
                        new NpgsqlParameter<string> { TypedValue = append.StreamId },
                        new NpgsqlParameter<long> { TypedValue = version },
                        new NpgsqlParameter<string> { TypedValue = type },
                        new NpgsqlParameter<string> { TypedValue = json, NpgsqlDbType = NpgsqlDbType.Jsonb },
                        new NpgsqlParameter<DateTimeOffset> { TypedValue = now },
                    },
                });
                stored[a][i] = new StoredEvent(0, id, append.TenantId, append.StreamId, version, type, data, now);
            }
        }

        if (!lockAtVersion)
        {
            for (var a = 0; a < appends.Count; a++)
            {
                var append = appends[a];
                Add(a, new NpgsqlBatchCommand(sql.UpdateStream)
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
            }
        }

        for (var a = 0; a < appends.Count; a++)
        {
            if (stored[a].Length == 0)
            {
                continue;
            }
            var inline = new InlineBatch(batch, store.Options.Schema, appends[a].TenantId, appends[a].StreamId);
            foreach (var projection in store.InlineProjections)
            {
                projection.Apply(inline, stored[a]);
            }
            while (owners.Count < batch.BatchCommands.Count)
            {
                owners.Add(a);
            }
        }

        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        try
        {
            await ReadAsync(batch, stored, lockAtVersion ? appends.Count : 0, cancellationToken);
        }
        catch (PostgresException e) when (
            // Every command before the failing one completed (and got its statement type); the server skipped the rest.
            batch.BatchCommands.TakeWhile((NpgsqlBatchCommand c) => c.StatementType != StatementType.Unknown).Count() is var failed
            && failed < owners.Count)
        {
            throw new RejectedAppendException(owners[failed], e);
        }
        return stored;
    }

    /// <summary>Reads the sequence numbers of <paramref name="stored"/>, after <paramref name="locks"/> lock results.</summary>
    private static async Task ReadAsync(NpgsqlBatch batch, StoredEvent[][] stored, int locks, CancellationToken cancellationToken)
    {

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        // The reader starts on the first result; every later one is a NextResult away.
        var onFirst = true;
        async Task NextAsync()
        {
            if (!onFirst)
            {
                await reader.NextResultAsync(cancellationToken);
            }
            onFirst = false;
        }

        for (var l = 0; l < locks; l++)
        {
            await NextAsync();
        }
        foreach (var events in stored)
        {
            for (var i = 0; i < events.Length; i++)
            {
                await NextAsync();
                await reader.ReadAsync(cancellationToken);
                events[i] = events[i] with { Sequence = reader.GetInt64(0) };
            }
        }

        // Walks the remaining results so that a failing projection command or the commit surfaces here.
        while (await reader.NextResultAsync(cancellationToken))
        {
        }
    }
}
