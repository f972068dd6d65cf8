using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ConversationService.EventStore;

/// <summary>
/// Runs every registered <see cref="IAsyncProjection"/>, each once across replicas, and exits at once when there are none.
/// Events reach projections by polling (<see cref="EventStoreOptions.PollInterval"/>, immediately again after a full
/// batch). No LISTEN/NOTIFY: a NOTIFY in the append transaction takes a server-wide lock that is held through the
/// commit's WAL flush, so appends would commit one at a time instead of in groups, capping append throughput.
/// </summary>
internal sealed class AsyncDaemon(EventStore store, ILogger<AsyncDaemon> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        await Task.WhenAll(store.AsyncProjections.Select(p => new ProjectionRunner(store, p, logger).RunAsync(stoppingToken)));
    }
}

/// <summary>
/// One projection: holds a session-level advisory lock on a dedicated connection and does all its reads and
/// checkpoint writes on that connection, so losing the connection means losing the lock and stopping together.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Async projection {Projection} started on this replica.")]
    public static partial void Started(ILogger logger, string projection);

    [LoggerMessage(Level = LogLevel.Error, Message = "Async projection {Projection} failed; restarting it.")]
    public static partial void Failed(ILogger logger, Exception exception, string projection);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release the advisory lock of {Projection}.")]
    public static partial void UnlockFailed(ILogger logger, Exception exception, string projection);
}

internal sealed class ProjectionRunner(EventStore store, IAsyncProjection projection, ILogger logger)
{
    private readonly string _name = projection.Name;
    private readonly string _lockKey = $"{store.Options.Schema}/{projection.Name}";

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
        var checkpoint = await LoadCheckpointAsync(connection, stoppingToken);
        PendingGap? pending = null;
        while (true)
        {
            var rows = await ReadAsync(connection, checkpoint, stoppingToken);
            var decision = Gaps.Decide(checkpoint, rows.Sequences, rows.SnapshotXmin, pending);
            pending = Gaps.Carry(decision, pending);
            if (decision.GapThrough is { } through && pending is null)
            {
                pending = new PendingGap(through, await ScalarAsync<long>(connection, Sql.XidHorizon, stoppingToken));
            }

            if (decision.Take > 0)
            {
                var events = rows.Materialize(decision.Take, store.Types);
                await projection.HandleAsync(events, stoppingToken);
                await SaveCheckpointAsync(connection, decision.Checkpoint, stoppingToken);
                checkpoint = decision.Checkpoint;
            }

            var fullBatch = decision.Take == store.Options.BatchSize;
            if (!fullBatch)
            {
                await Task.Delay(store.Options.PollInterval, store.Time, stoppingToken);
            }
        }
    }

    private async Task<LogRows> ReadAsync(NpgsqlConnection connection, long checkpoint, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(store.Sql.ReadLog, connection);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkpoint });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = store.Options.BatchSize });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new LogRows();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.SnapshotXmin = reader.GetInt64(0);
            rows.Sequences.Add(reader.GetInt64(1));
            rows.Raw.Add(new RawEvent(
                reader.GetGuid(2), reader.GetString(3), reader.GetString(4), reader.GetInt64(5), reader.GetString(6),
                reader.GetString(7), reader.GetFieldValue<DateTimeOffset>(8)));
        }

        return rows;
    }

    private async Task<long> LoadCheckpointAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(store.Sql.LoadCheckpoint, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _name });
        return await command.ExecuteScalarAsync(cancellationToken) is long value ? value : 0;
    }

    private async Task SaveCheckpointAsync(NpgsqlConnection connection, long checkpoint, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(store.Sql.SaveCheckpoint, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _name });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkpoint });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = store.Time.GetUtcNow() });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

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

    private static async Task<T> ScalarAsync<T>(
        NpgsqlConnection connection, string sql, CancellationToken cancellationToken, string? parameter = null)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        if (parameter is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = parameter });
        }

        return (T)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private sealed record RawEvent(
        Guid Id, string TenantId, string StreamId, long Version, string Type, string Json, DateTimeOffset Timestamp);

    private sealed class LogRows
    {
        public long SnapshotXmin { get; set; }
        public List<long> Sequences { get; } = [];
        public List<RawEvent> Raw { get; } = [];

        public List<StoredEvent> Materialize(int count, EventTypeRegistry types) =>
            [.. Raw.Take(count).Select((e, i) => new StoredEvent(
                Sequences[i], e.Id, e.TenantId, e.StreamId, e.Version, e.Type, types.Deserialize(e.Type, e.Json), e.Timestamp))];
    }
}
