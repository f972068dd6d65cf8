using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ConversationService.EventStore;

/// <summary>
/// Runs every registered <see cref="IAsyncProjection"/>, each once across replicas, and every
/// <see cref="IReplicaSubscription"/> on this replica; exits at once when there are none.
/// Events reach projections by polling (<see cref="EventStoreOptions.PollInterval"/>, immediately again after a full
/// batch). No LISTEN/NOTIFY: a NOTIFY in the append transaction takes a server-wide lock that is held through the
/// commit's WAL flush, so appends would commit one at a time instead of in groups, capping append throughput.
/// </summary>
/// <remarks>
/// The subscriptions come from the container here, not through the store: they hold caches whose owners use the store,
/// and the store must not depend on them.
/// </remarks>
internal sealed class AsyncDaemon(EventStore store, IEnumerable<IReplicaSubscription> subscriptions, ILogger<AsyncDaemon> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        IReplicaSubscription[] followers = [.. subscriptions];
        var tail = followers.Length == 0 ? Task.CompletedTask : new ReplicaTail(store, followers, logger).RunAsync(stoppingToken);
        await Task.WhenAll(store.AsyncProjections
            .Select(p => new ProjectionRunner(store, p, logger).RunAsync(stoppingToken))
            .Append(tail));
    }
}

internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Async projection {Projection} started on this replica.")]
    public static partial void Started(ILogger logger, string projection);

    [LoggerMessage(Level = LogLevel.Error, Message = "Async projection {Projection} failed; restarting it.")]
    public static partial void Failed(ILogger logger, Exception exception, string projection);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release the advisory lock of {Projection}.")]
    public static partial void UnlockFailed(ILogger logger, Exception exception, string projection);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Async projection {Projection} failed on {Count} events (seq {First} to {Last}); handling them in halves to find the one at fault: {Error}")]
    public static partial void Isolating(ILogger logger, string projection, int count, long first, long last, string error);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Async projection {Projection} failed on event {Sequence} alone (attempt {Attempt} of {Attempts}): {Error}")]
    public static partial void Retrying(ILogger logger, string projection, long sequence, int attempt, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Async projection {Projection} parked event {Sequence} ({EventType}, version {Version} of stream {StreamId}, tenant {TenantId}) after {Attempts} attempt(s) and goes on; it is in the dead_letters table: {Error}")]
    public static partial void Parked(
        ILogger logger, string projection, long sequence, string eventType, long version, string streamId, string tenantId, int attempts,
        string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Replica subscription {Subscription} failed; trying again.")]
    public static partial void TailFailed(ILogger logger, Exception exception, string subscription);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "Replica subscription {Subscription} cannot read event {Sequence} ({EventType}, version {Version} of stream {StreamId}, tenant {TenantId}) and passes it: {Error}")]
    public static partial void TailUnreadable(
        ILogger logger, string subscription, long sequence, string eventType, long version, string streamId, string tenantId, string error);
}

/// <summary>
/// One projection: holds a session-level advisory lock on a dedicated connection and does all its reads and
/// checkpoint writes on that connection, so losing the connection means losing the lock and stopping together.
/// <para>
/// A failed batch is retried in one of two ways. A failure of the infrastructure (<see cref="EventFailures.IsTransient"/>,
/// <see cref="IAsyncProjection.IsTransient"/>) ends the run: the lock is released (another replica, which may reach the
/// broker, can take over) and the batch is tried again from the checkpoint after
/// <see cref="EventStoreOptions.LockRetryInterval"/>, for as long as it fails; nothing is parked, so nothing is lost
/// while the broker or the database is away. Any other failure may be about an event, so the batch is handled in
/// halves, each committed (checkpointed) when it passes, down to single events; an event that fails alone
/// <see cref="EventStoreOptions.ParkAfterAttempts"/> times, with back-off, is parked: recorded in <c>dead_letters</c>
/// with the error and its position, with the checkpoint past it in the same transaction. An event whose stored data
/// cannot even be read is parked at once. The events after a parked one, of its stream too, are handled as usual.
/// </para>
/// </summary>
internal sealed class ProjectionRunner(EventStore store, IAsyncProjection projection, ILogger logger)
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(1);
    private readonly string _name = projection.Name;
    private readonly string _lockKey = $"{store.Options.Schema}/{projection.Name}";
    private readonly ProjectionActivity _activity = store.ActivityOf(projection.Name);

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            NpgsqlConnection? connection = null;
            var locked = false;
            try
            {
                connection = await store.DataSource.OpenConnectionAsync(stoppingToken);
                locked = await ScalarAsync<bool>(connection, Sql.TryLockProjection, stoppingToken, _lockKey);
                if (locked)
                {
                    Log.Started(logger, _name);
                    projection.Started();
                    await ProcessAsync(connection, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                _activity.Failed(EventFailures.Describe(ex));
                Log.Failed(logger, ex, _name);
            }
            finally
            {
                if (connection is not null)
                {
                    await ReleaseAsync(connection, locked);
                }
            }

            await DelayAsync(store.Options.LockRetryInterval, stoppingToken);
        }
    }

    private async Task ProcessAsync(NpgsqlConnection connection, CancellationToken stoppingToken)
    {
        var log = new LogFollower(store, await LoadCheckpointAsync(connection, stoppingToken));
        while (true)
        {
            var (rows, decision) = await log.NextAsync(connection, null, stoppingToken);
            if (decision.Take > 0)
            {
                await HandleAsync(connection, rows, decision.Take, stoppingToken);
                log.Checkpoint = decision.Checkpoint;
            }

            var fullBatch = decision.Take == store.Options.BatchSize;
            if (!fullBatch)
            {
                await Task.Delay(store.Options.PollInterval, store.Time, stoppingToken);
            }
        }
    }

    /// <summary>
    /// The first <paramref name="take"/> rows, each either handled or parked, with the checkpoint past the last one.
    /// Data that cannot be read is parked at once: the same bytes fail the same way on every attempt.
    /// </summary>
    private async Task HandleAsync(NpgsqlConnection connection, LogRows rows, int take, CancellationToken ct)
    {
        var readable = new List<StoredEvent>(take);
        for (var i = 0; i < take; i++)
        {
            StoredEvent stored;
            try
            {
                stored = rows.Materialize(i, store.Types);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await HandleSplittingAsync(connection, readable, nested: false, ct);
                readable.Clear();
                await ParkAsync(connection, rows.Position(i), ex, attempts: 1, ct);
                continue;
            }
            readable.Add(stored);
        }
        await HandleSplittingAsync(connection, readable, nested: false, ct);
    }

    private async Task HandleSplittingAsync(
        NpgsqlConnection connection, List<StoredEvent> events, bool nested, CancellationToken ct)
    {
        if (events.Count <= 1)
        {
            if (events.Count == 1)
            {
                await HandleAloneAsync(connection, events[0], ct);
            }
            return;
        }
        try
        {
            await projection.HandleAsync(events, ct);
        }
        catch (Exception ex) when (MayBeAboutTheEvents(ex, ct))
        {
            var error = EventFailures.Describe(ex);
            _activity.Failed(error);
            if (!nested)
            {
                Log.Isolating(logger, _name, events.Count, events[0].Sequence, events[^1].Sequence, error);
            }
            var half = events.Count / 2;
            await HandleSplittingAsync(connection, [.. events.Take(half)], nested: true, ct);
            await HandleSplittingAsync(connection, [.. events.Skip(half)], nested: true, ct);
            return;
        }
        await SaveCheckpointAsync(connection, events[^1].Sequence, ct);
        _activity.Succeeded();
    }

    private async Task HandleAloneAsync(NpgsqlConnection connection, StoredEvent stored, CancellationToken ct)
    {
        var attempts = store.Options.ParkAfterAttempts;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await projection.HandleAsync([stored], ct);
            }
            catch (Exception ex) when (MayBeAboutTheEvents(ex, ct))
            {
                var error = EventFailures.Describe(ex);
                _activity.Failed(error);
                if (attempt >= attempts)
                {
                    await ParkAsync(connection, EventPosition.Of(stored), ex, attempt, ct);
                    return;
                }
                Log.Retrying(logger, _name, stored.Sequence, attempt, attempts, error);
                await Task.Delay(RetryDelay(attempt), store.Time, ct);
                continue;
            }
            await SaveCheckpointAsync(connection, stored.Sequence, ct);
            _activity.Succeeded();
            return;
        }
    }

    /// <summary>Failures of the infrastructure propagate (see the class); everything else may be an event's fault.</summary>
    private bool MayBeAboutTheEvents(Exception exception, CancellationToken ct) =>
        !ct.IsCancellationRequested && !EventFailures.IsTransient(exception)
        && !EventFailures.Chain(exception).Any(projection.IsTransient);

    private TimeSpan RetryDelay(int attempt)
    {
        var delay = store.Options.RetryDelay * Math.Pow(2, Math.Min(attempt - 1, 16));
        return delay < MaxRetryDelay ? delay : MaxRetryDelay;
    }

    private async Task ParkAsync(NpgsqlConnection connection, EventPosition position, Exception error, int attempts, CancellationToken ct)
    {
        var description = EventFailures.Describe(error);
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(store.Sql.ParkEvent)
                {
                    Parameters =
                    {
                        new NpgsqlParameter<string> { TypedValue = _name },
                        new NpgsqlParameter<long> { TypedValue = position.Sequence },
                        new NpgsqlParameter<Guid> { TypedValue = position.Id },
                        new NpgsqlParameter<string> { TypedValue = position.TenantId },
                        new NpgsqlParameter<string> { TypedValue = position.StreamId },
                        new NpgsqlParameter<long> { TypedValue = position.Version },
                        new NpgsqlParameter<string> { TypedValue = position.Type },
                        new NpgsqlParameter<string> { TypedValue = error.GetType().FullName ?? "" },
                        new NpgsqlParameter<string> { TypedValue = description },
                        new NpgsqlParameter<int> { TypedValue = attempts },
                        new NpgsqlParameter<DateTimeOffset> { TypedValue = store.Time.GetUtcNow() },
                    },
                },
                SaveCheckpointCommand(position.Sequence),
            },
        };
        await batch.ExecuteNonQueryAsync(ct);
        DaemonMetrics.Parked.Add(1, new KeyValuePair<string, object?>("projection", _name));
        Log.Parked(logger, _name, position.Sequence, position.Type, position.Version, position.StreamId, position.TenantId, attempts,
            description);
    }

    private async Task<long> LoadCheckpointAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(store.Sql.LoadCheckpoint, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _name });
        return await command.ExecuteScalarAsync(cancellationToken) is long value ? value : 0;
    }

    private async Task SaveCheckpointAsync(NpgsqlConnection connection, long checkpoint, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection) { BatchCommands = { SaveCheckpointCommand(checkpoint) } };
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private NpgsqlBatchCommand SaveCheckpointCommand(long checkpoint) => new(store.Sql.SaveCheckpoint)
    {
        Parameters =
        {
            new NpgsqlParameter<string> { TypedValue = _name },
            new NpgsqlParameter<long> { TypedValue = checkpoint },
            new NpgsqlParameter<DateTimeOffset> { TypedValue = store.Time.GetUtcNow() },
        },
    };

    private async Task ReleaseAsync(NpgsqlConnection connection, bool locked)
    {
        // Pooled connections keep session advisory locks until reused, so unlock explicitly; a broken
        // connection lost the lock with its server session anyway.
        try
        {
            if (locked && connection.State == System.Data.ConnectionState.Open)
            {
                await ScalarAsync<bool>(connection, Sql.UnlockProjection, CancellationToken.None, _lockKey);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            // Never hand a connection that may still hold the lock back to the pool for reuse.
            Log.UnlockFailed(logger, ex, _name);
            NpgsqlConnection.ClearPool(connection);
        }

        await connection.DisposeAsync();
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(delay, store.Time, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    internal static async Task<T> ScalarAsync<T>(
        NpgsqlConnection connection, string sql, CancellationToken cancellationToken, string? parameter = null)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        if (parameter is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = parameter });
        }

        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}

/// <summary>
/// Reads the log after <see cref="Checkpoint"/> a batch at a time, and decides how much of it may be handled: never
/// past a hole in seq_id that a running transaction may still fill (see <see cref="Gaps"/>). The caller moves
/// <see cref="Checkpoint"/> once it has handled what the decision allows.
/// </summary>
internal sealed class LogFollower(EventStore store, long checkpoint)
{
    private PendingGap? _pending;

    public long Checkpoint { get; set; } = checkpoint;

    /// <param name="types">Null for every event with its data; otherwise the type names whose data is read.</param>
    public async Task<(LogRows Rows, GapDecision Decision)> NextAsync(
        NpgsqlConnection connection, string[]? types, CancellationToken cancellationToken)
    {
        var rows = await LogRows.ReadAsync(store, connection, Checkpoint, types, cancellationToken);
        var decision = Gaps.Decide(Checkpoint, rows.Sequences, rows.SnapshotXmin, _pending);
        _pending = Gaps.Carry(decision, _pending);
        if (decision.GapThrough is { } through && _pending is null)
        {
            _pending = new PendingGap(through, await ProjectionRunner.ScalarAsync<long>(connection, Sql.XidHorizon, cancellationToken));
        }

        return (rows, decision);
    }
}

/// <summary>Where an event is in the log: what a dead letter records instead of the event's data.</summary>
internal readonly record struct EventPosition(long Sequence, Guid Id, string TenantId, string StreamId, long Version, string Type)
{
    public static EventPosition Of(StoredEvent e) => new(e.Sequence, e.Id, e.TenantId, e.StreamId, e.Version, e.Type);
}

internal sealed class LogRows
{
    private sealed record RawEvent(
        Guid Id, string TenantId, string StreamId, long Version, string Type, string? Json, DateTimeOffset Timestamp);

    private readonly List<RawEvent> _raw = [];

    public long SnapshotXmin { get; private set; }
    public List<long> Sequences { get; } = [];

    public static async Task<LogRows> ReadAsync(
        EventStore store, NpgsqlConnection connection, long checkpoint, string[]? types, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(types is null ? store.Sql.ReadLog : store.Sql.ReadLogOfTypes, connection);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkpoint });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = store.Options.BatchSize });
        if (types is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = types });
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new LogRows();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.SnapshotXmin = reader.GetInt64(0);
            rows.Sequences.Add(reader.GetInt64(1));
            rows._raw.Add(new RawEvent(
                reader.GetGuid(2), reader.GetString(3), reader.GetString(4), reader.GetInt64(5), reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7), reader.GetFieldValue<DateTimeOffset>(8)));
        }

        return rows;
    }

    /// <summary>Whether the data of row <paramref name="i"/> was read (always, unless types were named).</summary>
    public bool HasData(int i) => _raw[i].Json is not null;

    /// <summary>Row <paramref name="i"/> as a <see cref="StoredEvent"/>; throws when its data cannot be deserialized.</summary>
    public StoredEvent Materialize(int i, EventTypeRegistry types)
    {
        var e = _raw[i];
        return new StoredEvent(
            Sequences[i], e.Id, e.TenantId, e.StreamId, e.Version, e.Type,
            types.Deserialize(e.Type, e.Json ?? throw new InvalidOperationException($"Row {i} was read without its data.")), e.Timestamp);
    }

    public EventPosition Position(int i)
    {
        var e = _raw[i];
        return new EventPosition(Sequences[i], e.Id, e.TenantId, e.StreamId, e.Version, e.Type);
    }
}
