using Npgsql;

namespace ConversationService.EventStore;

public sealed class EventStore
{
    public EventStore(
        NpgsqlDataSource dataSource,
        EventStoreOptions options,
        EventTypeRegistry types,
        IEnumerable<IInlineProjection> inlineProjections,
        IEnumerable<IAsyncProjection> asyncProjections,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(types);
        EventStoreOptionsValidator.ThrowIfInvalid(options);
        DataSource = dataSource;
        Options = options;
        Types = types;
        InlineProjections = [.. inlineProjections];
        AsyncProjections = [.. asyncProjections.Where(p => p.Enabled)];
        Time = timeProvider ?? TimeProvider.System;
        Sql = new Sql(options.Schema);

        var duplicate = AsyncProjections.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two async projections are named '{duplicate.Key}'; names are checkpoint keys.");
        }

        ThrowIfPoolTooSmall(dataSource, AsyncProjections.Count, options.AppendWriters);
        _indexedProjectionNames = [.. AsyncProjections.Where(p => p.TracksIndexedVersion).Select(p => p.Name)];
        _activity = AsyncProjections.ToDictionary(p => p.Name, _ => new ProjectionActivity(), StringComparer.Ordinal);
        _groupCommit = new GroupCommit(this);
    }

    private readonly Dictionary<string, ProjectionActivity> _activity;

    /// <summary>
    /// The daemon keeps one pooled connection per async projection for as long as it runs it, and a projection may
    /// open one more while it handles a batch; each group-commit writer holds one while it commits. A pool with no
    /// room beyond those would leave every request waiting for the pool's timeout and failing, so it does not start.
    /// </summary>
    private static void ThrowIfPoolTooSmall(NpgsqlDataSource dataSource, int asyncProjections, int appendWriters)
    {
        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        var needed = (2 * asyncProjections) + appendWriters + 1;
        if (settings.Pooling && settings.MaxPoolSize < needed)
        {
            throw new InvalidOperationException(
                $"Postgres:MaxPoolSize (or the connection string's Maximum Pool Size) is {settings.MaxPoolSize}, which leaves "
                + $"no connection for requests: {asyncProjections} async projection(s) hold up to two each and "
                + $"EventStore:AppendWriters is {appendWriters}. Set it to at least {needed}.");
        }
    }

    private readonly GroupCommit _groupCommit;

    private readonly string[] _indexedProjectionNames;

    public EventStoreOptions Options { get; }
    public NpgsqlDataSource DataSource { get; }
    public EventTypeRegistry Types { get; }
    public IReadOnlyList<IAsyncProjection> AsyncProjections { get; }
    internal IReadOnlyList<IInlineProjection> InlineProjections { get; }
    internal TimeProvider Time { get; }
    internal Sql Sql { get; }

    /// <summary>Creates or upgrades the schema (idempotent), including every registered projection's DDL.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        // CREATE ... IF NOT EXISTS still races (unique violations in the catalog) when two replicas start at once,
        // so all DDL runs under one transaction-scoped advisory lock.
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var statements = new[] { Sql.DdlLock, Sql.Ddl }
            .Concat(InlineProjections.Select(p => p.Ddl(Options.Schema)))
            .Concat(AsyncProjections.Select(p => p.Ddl(Options.Schema)))
            .Where(ddl => !string.IsNullOrWhiteSpace(ddl));
        foreach (var ddl in statements)
        {
            await using var command = new NpgsqlCommand(ddl, connection, transaction);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Opens a transaction and locks the stream row (creating it with <paramref name="streamType"/> if absent).
    /// BEGIN and the locking upsert travel in one round trip. The upsert is a write, so the transaction owns an xid
    /// before the append draws any seq_id: the daemon's gap handling (see <see cref="Gaps"/>) depends on that.
    /// </summary>
    public async Task<StreamWriteSession> OpenForWritingAsync(
        string tenantId, string streamId, string streamType, CancellationToken cancellationToken) =>
        (await OpenAsync<bool>(tenantId, streamId, streamType, null, null, cancellationToken)).Session;

    /// <summary>
    /// <see cref="OpenForWritingAsync(string, string, string, CancellationToken)"/> that also runs
    /// <paramref name="readSql"/> ($1 = tenant id, $2 = stream id) in the same round trip, after the lock, so the
    /// decision's state costs no extra round trip. <paramref name="read"/> gets the reader on that result set.
    /// </summary>
    public Task<(StreamWriteSession Session, T Read)> OpenForWritingAsync<T>(
        string tenantId, string streamId, string streamType, string readSql,
        Func<NpgsqlDataReader, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(readSql);
        ArgumentNullException.ThrowIfNull(read);
        return OpenAsync(tenantId, streamId, streamType, readSql, read, cancellationToken);
    }

    private async Task<(StreamWriteSession Session, T Read)> OpenAsync<T>(
        string tenantId, string streamId, string streamType, string? readSql,
        Func<NpgsqlDataReader, CancellationToken, Task<T>>? read, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentException.ThrowIfNullOrEmpty(streamType);
        var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        NpgsqlTransaction? transaction = null;
        try
        {
            transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var batch = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand(Sql.LockStream)
                    {
                        Parameters =
                        {
                            new NpgsqlParameter<string> { TypedValue = tenantId },
                            new NpgsqlParameter<string> { TypedValue = streamId },
                            new NpgsqlParameter<string> { TypedValue = streamType },
                            new NpgsqlParameter<DateTimeOffset> { TypedValue = Time.GetUtcNow() },
                        },
                    },
                },
            };
            if (readSql is not null)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand(readSql)
                {
                    Parameters =
                    {
                        new NpgsqlParameter<string> { TypedValue = tenantId },
                        new NpgsqlParameter<string> { TypedValue = streamId },
                    },
                });
            }

            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var session = new StreamWriteSession(
                this, connection, transaction, tenantId, streamId,
                version: reader.GetInt64(0), isNew: reader.GetBoolean(2), isArchived: reader.GetBoolean(1));
            var result = default(T)!;
            if (read is not null)
            {
                await reader.NextResultAsync(cancellationToken);
                result = await read(reader, cancellationToken);
            }

            return (session, result);
        }
        catch
        {
            if (transaction is not null)
            {
                await transaction.DisposeAsync();
            }

            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Shortcut: open, append, commit.</summary>
    public async Task<IReadOnlyList<StoredEvent>> AppendAsync(
        string tenantId, string streamId, string streamType, IReadOnlyList<object> events, long? expectedVersion,
        CancellationToken cancellationToken)
    {
        await using var session = await OpenForWritingAsync(tenantId, streamId, streamType, cancellationToken);
        return await session.AppendAndCommitAsync(events, expectedVersion, cancellationToken);
    }

    /// <summary>
    /// Appends in one round trip for a writer that knows the stream's version from its own last append: BEGIN, a lock
    /// that fails unless the stream is still at <paramref name="knownVersion"/> and not archived, the events, the
    /// inline projections and COMMIT travel together. Null when the stream moved (nothing is stored): open a
    /// session, read the state and decide again. Concurrent calls share commits (see <see cref="GroupCommit"/>).
    /// </summary>
    public async Task<IReadOnlyList<StoredEvent>?> TryAppendAtVersionAsync(
        string tenantId, string streamId, long knownVersion, IReadOnlyList<object> events, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentOutOfRangeException.ThrowIfZero(events.Count);
        cancellationToken.ThrowIfCancellationRequested();
        return await _groupCommit.AppendAsync(
            PendingAppend.Create(Types, tenantId, streamId, knownVersion, events), cancellationToken);
    }

    /// <summary>Events of the stream with version &gt;= <paramref name="fromVersion"/>, in version order.</summary>
    public async Task<IReadOnlyList<StoredEvent>> ReadStreamAsync(
        string tenantId, string streamId, long fromVersion, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        await using var command = DataSource.CreateCommand(Sql.ReadStream);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fromVersion });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var events = new List<StoredEvent>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var type = reader.GetString(3);
            events.Add(new StoredEvent(
                reader.GetInt64(0), reader.GetGuid(1), tenantId, streamId, reader.GetInt64(2), type,
                Types.Deserialize(type, reader.GetString(4)), reader.GetFieldValue<DateTimeOffset>(5)));
        }

        return events;
    }

    /// <summary>
    /// Highest version of the stream that every registered async projection has processed
    /// (the stream's version when none is registered); null when the stream does not exist.
    /// </summary>
    public async Task<long?> GetIndexedVersionAsync(string tenantId, string streamId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        var tracked = _indexedProjectionNames.Length > 0;
        await using var command = DataSource.CreateCommand(tracked ? Sql.IndexedVersion : Sql.StreamVersion);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenantId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        if (tracked)
        {
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = _indexedProjectionNames });
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return tracked ? reader.GetInt64(1) : reader.GetInt64(0);
    }

    /// <summary>
    /// Where each async projection stands (see <see cref="ProjectionHealth"/>); <see cref="DaemonHealth.Problems"/> says
    /// what of it is wrong. One statement of index lookups, cheap enough for readiness probes.
    /// </summary>
    public async Task<IReadOnlyList<ProjectionHealth>> GetDaemonHealthAsync(CancellationToken cancellationToken)
    {
        if (AsyncProjections.Count == 0)
        {
            return [];
        }
        await using var command = DataSource.CreateCommand(Sql.DaemonHealth);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. AsyncProjections.Select(p => p.Name)] });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var health = new List<ProjectionHealth>(AsyncProjections.Count);
        while (await reader.ReadAsync(cancellationToken))
        {
            var name = reader.GetString(0);
            var (failures, lastError) = ActivityOf(name).Read();
            health.Add(new ProjectionHealth(
                name, reader.GetInt64(1), reader.GetInt64(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3), reader.GetInt64(4), failures, lastError));
        }

        return health;
    }

    /// <summary>This replica's record of the projection's attempts; the daemon's runner writes it.</summary>
    internal ProjectionActivity ActivityOf(string projection) => _activity[projection];
}
