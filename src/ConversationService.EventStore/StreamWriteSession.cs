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
    /// Rewrites every stored <see cref="IErasable"/> event of this stream and of <paramref name="relatedStreams"/> (same
    /// tenant) to its erased form, in this session's transaction: when the append that follows commits, the log still
    /// holds every event (kinds, versions, sequence numbers) but no longer the content. For deletions: the events'
    /// subject is gone, so the log must not keep what the read models no longer show. A related stream must be one
    /// that only this stream's writers append to (a conversation's summaries, say), so its rows do not change meanwhile.
    /// </summary>
    public async Task EraseContentAsync(IReadOnlyList<string> relatedStreams, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        var rewrites = new Dictionary<string, List<(long Version, string Json)>>(StringComparer.Ordinal);
        await using (var read = new NpgsqlCommand(_store.Sql.ReadStreamsData, Connection, Transaction))
        {
            read.Parameters.Add(new NpgsqlParameter<string> { TypedValue = TenantId });
            read.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [StreamId, .. relatedStreams] });
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if (_store.Types.Deserialize(reader.GetString(2), reader.GetString(3)) is IErasable erasable)
                {
                    var json = _store.Types.Serialize(erasable.Erased(), out _);
                    (rewrites.TryGetValue(reader.GetString(0), out var list) ? list : rewrites[reader.GetString(0)] = [])
                        .Add((reader.GetInt64(1), json));
                }
            }
        }
        foreach (var (streamId, events) in rewrites)
        {
            var data = new string?[events.Max(e => e.Version)];
            foreach (var (version, json) in events)
            {
                data[version - 1] = json;
            }
            await using var rewrite = new NpgsqlCommand(_store.Sql.RewriteStreamData, Connection, Transaction);
            rewrite.Parameters.Add(new NpgsqlParameter<string> { TypedValue = TenantId });
            rewrite.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
            rewrite.Parameters.Add(new NpgsqlParameter { Value = data, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
            await rewrite.ExecuteNonQueryAsync(cancellationToken);
        }
    }

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
        AppendCommands.ExecuteAsync(
            _store, Connection, Transaction, PendingAppend.Create(_store.Types, TenantId, StreamId, Version, events), _archive,
            cancellationToken);

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
