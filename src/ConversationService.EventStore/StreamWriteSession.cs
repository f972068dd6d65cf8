using Npgsql;
using NpgsqlTypes;

namespace ConversationService.EventStore;

/// <summary>
/// A write session on one stream: the stream row is locked (created if absent) in an open transaction,
/// so reads through <see cref="Connection"/> see a stable state and concurrent writers queue up.
/// </summary>
public sealed class StreamWriteSession : IAsyncDisposable
{
    private readonly EventStore _store;
    private bool _archive;
    private bool _completed;

    internal StreamWriteSession(
        EventStore store, NpgsqlConnection connection, NpgsqlTransaction transaction,
        string tenantId, string streamId, long version, bool isNew, bool isArchived)
    {
        _store = store;
        Connection = connection;
        Transaction = transaction;
        TenantId = tenantId;
        StreamId = streamId;
        Version = version;
        IsNew = isNew;
        IsArchived = isArchived;
        _archive = isArchived;
    }

    public string TenantId { get; }
    public string StreamId { get; }

    /// <summary>Current version (0 for a new stream); after a commit, the new version.</summary>
    public long Version { get; private set; }

    public bool IsNew { get; }
    public bool IsArchived { get; }

    /// <summary>For reading projection tables inside the locked transaction.</summary>
    public NpgsqlConnection Connection { get; }
    public NpgsqlTransaction Transaction { get; }

    /// <summary>Sets (or clears) streams.archived with the next <see cref="AppendAndCommitAsync"/>.</summary>
    public void MarkArchived(bool archived = true) => _archive = archived;

    /// <summary>
    /// Appends events, runs inline projections, commits. Throws <see cref="ConcurrencyException"/> when
    /// <paramref name="expectedVersion"/> is given and differs from <see cref="Version"/>.
    /// Returns the stored events with their versions and sequence numbers. Any failure rolls everything back
    /// and ends the session.
    /// </summary>
    public async Task<IReadOnlyList<StoredEvent>> AppendAndCommitAsync(
        IReadOnlyList<object> events, long? expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        ObjectDisposedException.ThrowIf(_completed, this);
        try
        {
            if (expectedVersion is { } expected && expected != Version)
            {
                throw new ConcurrencyException(StreamId, expected, Version);
            }

            StoredEvent[] stored;
            if (events.Count == 0 && _archive == IsArchived)
            {
                stored = [];
                await Transaction.CommitAsync(cancellationToken);
            }
            else
            {
                stored = await ExecuteAppendAsync(events, cancellationToken);
            }

            _completed = true;
            Version += stored.Length;
            return stored;
        }
        catch
        {
            await RollbackAsync();
            throw;
        }
    }

    private Task<StoredEvent[]> ExecuteAppendAsync(IReadOnlyList<object> events, CancellationToken cancellationToken) =>
        ExecuteAppendAsync(_store, Connection, Transaction, TenantId, StreamId, Version, events, _archive, lockAtVersion: false,
            cancellationToken);

    /// <summary>
    /// Events, stream version and every inline projection go out as one batch: one round trip, COMMIT included.
    /// With <paramref name="lockAtVersion"/> the batch starts by locking the stream at <paramref name="version"/>
    /// (see <see cref="Sql.LockStreamAtVersion"/>) instead of relying on a lock taken earlier.
    /// </summary>
    internal static async Task<StoredEvent[]> ExecuteAppendAsync(
        EventStore store, NpgsqlConnection connection, NpgsqlTransaction transaction, string tenantId, string streamId,
        long version, IReadOnlyList<object> events, bool archive, bool lockAtVersion, CancellationToken cancellationToken)
    {
        var sql = store.Sql;
        var now = store.Time.GetUtcNow();
        var stored = new StoredEvent[events.Count];
        await using var batch = new NpgsqlBatch(connection, transaction);
        if (lockAtVersion)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(sql.LockStreamAtVersion)
            {
                Parameters =
                {
                    new NpgsqlParameter<string> { TypedValue = tenantId },
                    new NpgsqlParameter<string> { TypedValue = streamId },
                    new NpgsqlParameter<long> { TypedValue = version },
                    new NpgsqlParameter<long> { TypedValue = version + events.Count },
                    new NpgsqlParameter<DateTimeOffset> { TypedValue = now },
                },
            });
        }
        for (var i = 0; i < events.Count; i++)
        {
            var data = events[i] ?? throw new ArgumentException("Events must not be null.", nameof(events));
            var json = store.Types.Serialize(data, out var type);
            var id = Guid.CreateVersion7(now);
            var eventVersion = version + i + 1;
            batch.BatchCommands.Add(new NpgsqlBatchCommand(sql.InsertEvent)
            {
                Parameters =
                {
                    new NpgsqlParameter<Guid> { TypedValue = id },
                    new NpgsqlParameter<string> { TypedValue = tenantId },
                    new NpgsqlParameter<string> { TypedValue = streamId },
                    new NpgsqlParameter<long> { TypedValue = eventVersion },
                    new NpgsqlParameter<string> { TypedValue = type },
                    new NpgsqlParameter<string> { TypedValue = json, NpgsqlDbType = NpgsqlDbType.Jsonb },
                    new NpgsqlParameter<DateTimeOffset> { TypedValue = now },
                },
            });
            stored[i] = new StoredEvent(0, id, tenantId, streamId, eventVersion, type, data, now);
        }

        if (!lockAtVersion)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(sql.UpdateStream)
            {
                Parameters =
                {
                    new NpgsqlParameter<string> { TypedValue = tenantId },
                    new NpgsqlParameter<string> { TypedValue = streamId },
                    new NpgsqlParameter<long> { TypedValue = version + events.Count },
                    new NpgsqlParameter<DateTimeOffset> { TypedValue = now },
                    new NpgsqlParameter<bool> { TypedValue = archive },
                },
            });
        }

        if (stored.Length > 0)
        {
            var inline = new InlineBatch(batch, store.Options.Schema, tenantId, streamId);
            foreach (var projection in store.InlineProjections)
            {
                projection.Apply(inline, stored);
            }
        }

        // COMMIT rides in the same batch: when any earlier command fails the server skips the rest, COMMIT included.
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        if (lockAtVersion)
        {
            await reader.NextResultAsync(cancellationToken);
        }
        for (var i = 0; i < stored.Length; i++)
        {
            if (i > 0)
            {
                await reader.NextResultAsync(cancellationToken);
            }

            await reader.ReadAsync(cancellationToken);
            stored[i] = stored[i] with { Sequence = reader.GetInt64(0) };
        }

        // Walks the remaining results so that a failing projection command or the commit surfaces here.
        while (await reader.NextResultAsync(cancellationToken))
        {
        }

        return stored;
    }

    private async ValueTask RollbackAsync()
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        try
        {
            await Transaction.RollbackAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException
                                   || Connection.State != System.Data.ConnectionState.Open)
        {
            // The transaction is already gone: a broken connection lost it on the server, or a failed COMMIT ended it.
        }
    }

    /// <summary>Rolls back when not committed.</summary>
    public async ValueTask DisposeAsync()
    {
        await RollbackAsync();
        await Transaction.DisposeAsync();
        await Connection.DisposeAsync();
    }
}
