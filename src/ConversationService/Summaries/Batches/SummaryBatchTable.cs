using ConversationService.Storage;
using ConversationService.Usage;
using Npgsql;

namespace ConversationService.Summaries;

/// <summary>A conversation waiting for (or in) a Batch API job, summarized through <see cref="RequestedThrough"/>.</summary>
public sealed record QueuedSummary(string Tenant, string ConversationId, int RequestedThrough, DateTimeOffset QueuedAt, int Attempts);

/// <summary>One request of a job: which summary it writes, from which stream version, and when it was first queued.</summary>
public sealed record BatchLine(
    int LineId, string Tenant, string ConversationId, long SummaryVersion, int FromIndex, int ThroughIndex, string Model,
    DateTimeOffset QueuedAt);

/// <summary>A job: <see cref="ProviderId"/> is null until the provider confirmed it (or after a crash before that).</summary>
public sealed record SummaryBatch(Guid Id, string? ProviderId, string? InputFileId, DateTimeOffset CreatedAt);

/// <summary>
/// What batch mode remembers, in PostgreSQL so that a restart or another replica loses nothing: the queue (one row per
/// conversation; <c>batch_id</c> null while it waits), the jobs and each job's lines. Rounds are serialized across
/// replicas by a session advisory lock (<see cref="TryLeadAsync"/>), so only one replica submits or applies at a time,
/// and a row is assigned to a job only while it waits, in the transaction that records the job.
/// </summary>
public sealed class SummaryBatchTable(NpgsqlDataSource dataSource, DatabaseSchema schema, TimeProvider time) : IHostedService
{
    private string Queue => $"{schema.Name}.summary_batch_queue";
    private string Batches => $"{schema.Name}.summary_batches";
    private string Lines => $"{schema.Name}.summary_batch_lines";

    public Task StartAsync(CancellationToken cancellationToken) => UsageTables.CreateAsync(dataSource, schema, $"""
            CREATE SCHEMA IF NOT EXISTS {schema.Name};
            CREATE TABLE IF NOT EXISTS {Queue} (
                tenant_id         text        NOT NULL,
                conversation_id   text        NOT NULL,
                requested_through integer     NOT NULL,
                queued_at         timestamptz NOT NULL,
                attempts          integer     NOT NULL DEFAULT 0,
                batch_id          uuid        NULL,
                PRIMARY KEY (tenant_id, conversation_id));
            CREATE INDEX IF NOT EXISTS summary_batch_queue_waiting ON {Queue} (queued_at) WHERE batch_id IS NULL;
            CREATE TABLE IF NOT EXISTS {Batches} (
                id            uuid        PRIMARY KEY,
                provider_id   text        NULL,
                input_file_id text        NULL,
                created_at    timestamptz NOT NULL);
            CREATE TABLE IF NOT EXISTS {Lines} (
                batch_id        uuid        NOT NULL REFERENCES {Batches} (id) ON DELETE CASCADE,
                line_id         integer     NOT NULL,
                tenant_id       text        NOT NULL,
                conversation_id text        NOT NULL,
                summary_version bigint      NOT NULL,
                from_index      integer     NOT NULL,
                through_index   integer     NOT NULL,
                model           text        NOT NULL,
                queued_at       timestamptz NOT NULL,
                billed          boolean     NOT NULL DEFAULT false,
                PRIMARY KEY (batch_id, line_id));
            ALTER TABLE {Lines} ADD COLUMN IF NOT EXISTS billed boolean NOT NULL DEFAULT false;
            """, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Queues the conversation, or extends its queued range; the deadline counts from the first queueing.</summary>
    public Task QueueAsync(string tenant, string conversationId, int through, CancellationToken ct) => ExecuteAsync(
        $"""
        INSERT INTO {Queue} (tenant_id, conversation_id, requested_through, queued_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (tenant_id, conversation_id)
        DO UPDATE SET requested_through = GREATEST({Queue}.requested_through, excluded.requested_through)
        """, ct, tenant, conversationId, through, time.GetUtcNow().UtcDateTime);

    /// <summary>
    /// Holds the batch rounds' lock for this replica until disposed; null when another replica holds it. Session level:
    /// a replica that dies releases it with its connection.
    /// </summary>
    public async Task<IAsyncDisposable?> TryLeadAsync(CancellationToken ct)
    {
        var connection = await dataSource.OpenConnectionAsync(ct);
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", connection);
        command.Parameters.Add(new() { Value = LockKey });
        if ((bool)(await command.ExecuteScalarAsync(ct))!)
        {
            return new Lead(connection, LockKey);
        }
        await connection.DisposeAsync();
        return null;
    }

    private string LockKey => $"conversation_service.summary_batches.{schema.Name}";

    /// <summary>Unlocks before the connection goes back to the pool (which would otherwise keep the lock until reused).</summary>
    private sealed class Lead(NpgsqlConnection connection, string key) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await using var command = new NpgsqlCommand("SELECT pg_advisory_unlock(hashtextextended($1, 0))", connection);
                command.Parameters.Add(new() { Value = key });
                await command.ExecuteNonQueryAsync();
            }
            finally
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>Waiting conversations, longest waiting first.</summary>
    public Task<List<QueuedSummary>> WaitingAsync(int limit, CancellationToken ct) => QueuedAsync(
        $"SELECT {QueuedColumns} FROM {Queue} WHERE batch_id IS NULL ORDER BY queued_at LIMIT {limit}", ct);

    /// <summary>Conversations queued before <paramref name="before"/>, waiting or in a job.</summary>
    public Task<List<QueuedSummary>> OverdueAsync(DateTimeOffset before, CancellationToken ct) => QueuedAsync(
        $"SELECT {QueuedColumns} FROM {Queue} WHERE queued_at < $1 ORDER BY queued_at LIMIT 1000", ct, before.UtcDateTime);

    /// <summary>Records a job and its lines and moves their conversations into it, in one transaction.</summary>
    public async Task CreateBatchAsync(Guid id, IReadOnlyList<BatchLine> lines, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await RunAsync(connection, transaction, $"INSERT INTO {Batches} (id, created_at) VALUES ($1, $2)", ct, id, time.GetUtcNow().UtcDateTime);
        foreach (var line in lines)
        {
            await RunAsync(connection, transaction,
                $"""
                INSERT INTO {Lines} (batch_id, line_id, tenant_id, conversation_id, summary_version, from_index, through_index, model, queued_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                """, ct, id, line.LineId, line.Tenant, line.ConversationId, line.SummaryVersion, line.FromIndex, line.ThroughIndex,
                line.Model, line.QueuedAt.UtcDateTime);
            var moved = await RunAsync(connection, transaction,
                $"UPDATE {Queue} SET batch_id = $1 WHERE tenant_id = $2 AND conversation_id = $3 AND batch_id IS NULL",
                ct, id, line.Tenant, line.ConversationId);
            if (moved != 1)
            {
                throw new InvalidOperationException("A queued summary was taken by another job; the round is abandoned.");
            }
        }
        await transaction.CommitAsync(ct);
    }

    public Task FileUploadedAsync(Guid id, string fileId, CancellationToken ct) =>
        ExecuteAsync($"UPDATE {Batches} SET input_file_id = $2 WHERE id = $1", ct, id, fileId);

    public Task SubmittedAsync(Guid id, string providerId, CancellationToken ct) =>
        ExecuteAsync($"UPDATE {Batches} SET provider_id = $2 WHERE id = $1", ct, id, providerId);

    public async Task<List<SummaryBatch>> BatchesAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"SELECT id, provider_id, input_file_id, created_at FROM {Batches} ORDER BY created_at");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var batches = new List<SummaryBatch>();
        while (await reader.ReadAsync(ct))
        {
            batches.Add(new SummaryBatch(reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }
        return batches;
    }

    public async Task<List<BatchLine>> LinesAsync(Guid id, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT line_id, tenant_id, conversation_id, summary_version, from_index, through_index, model, queued_at
            FROM {Lines} WHERE batch_id = $1 ORDER BY line_id
            """);
        command.Parameters.Add(new() { Value = id });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var lines = new List<BatchLine>();
        while (await reader.ReadAsync(ct))
        {
            lines.Add(new BatchLine(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3),
                reader.GetInt32(4), reader.GetInt32(5), reader.GetString(6), reader.GetFieldValue<DateTimeOffset>(7)));
        }
        return lines;
    }

    /// <summary>
    /// Runs <paramref name="record"/> (the answer's cost into the call log) in one transaction with marking the line
    /// billed, unless it is billed already: a round that applies a job again after a crash bills no answer twice.
    /// </summary>
    public async Task<bool> BillOnceAsync(Guid id, BatchLine line, Func<NpgsqlTransaction, Task> record, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (await RunAsync(connection, transaction,
                $"UPDATE {Lines} SET billed = true WHERE batch_id = $1 AND line_id = $2 AND NOT billed", ct, id, line.LineId) == 0)
        {
            return false;
        }
        await record(transaction);
        await transaction.CommitAsync(ct);
        return true;
    }

    /// <summary>
    /// The line's summary is stored (or superseded): its conversation leaves the queue unless more was requested
    /// meanwhile, which then waits anew.
    /// </summary>
    public Task CompletedAsync(Guid id, BatchLine line, CancellationToken ct) => ExecuteAsync(
        $"""
        WITH done AS (
            DELETE FROM {Queue} WHERE tenant_id = $2 AND conversation_id = $3 AND batch_id = $1 AND requested_through <= $4)
        UPDATE {Queue} SET batch_id = NULL, attempts = 0, queued_at = $5
        WHERE tenant_id = $2 AND conversation_id = $3 AND batch_id = $1 AND requested_through > $4
        """, ct, id, line.Tenant, line.ConversationId, line.ThroughIndex, time.GetUtcNow().UtcDateTime);

    /// <summary>
    /// The line got no usable answer: its conversation waits again, one attempt more. Returns it; null when it left the
    /// job already (its deadline passed).
    /// </summary>
    public async Task<QueuedSummary?> FailedAsync(Guid id, BatchLine line, CancellationToken ct) => (await QueuedAsync(
        $"""
        UPDATE {Queue} SET batch_id = NULL, attempts = attempts + 1
        WHERE tenant_id = $2 AND conversation_id = $3 AND batch_id = $1 RETURNING {QueuedColumns}
        """, ct, id, line.Tenant, line.ConversationId)).SingleOrDefault();

    public Task RemoveAsync(string tenant, string conversationId, CancellationToken ct) =>
        ExecuteAsync($"DELETE FROM {Queue} WHERE tenant_id = $1 AND conversation_id = $2", ct, tenant, conversationId);

    /// <summary>The job is done or never reached the provider: its lines go, and conversations still in it wait again.</summary>
    public async Task DeleteBatchAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await RunAsync(connection, transaction, $"UPDATE {Queue} SET batch_id = NULL WHERE batch_id = $1", ct, id);
        await RunAsync(connection, transaction, $"DELETE FROM {Batches} WHERE id = $1", ct, id);
        await transaction.CommitAsync(ct);
    }

    /// <summary>How many conversations wait or are in a job (the operations view).</summary>
    public async Task<(long Waiting, long InBatch)> CountsAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT count(*) FILTER (WHERE batch_id IS NULL), count(*) FILTER (WHERE batch_id IS NOT NULL) FROM {Queue}");
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private const string QueuedColumns = "tenant_id, conversation_id, requested_through, queued_at, attempts";

    private async Task<List<QueuedSummary>> QueuedAsync(string sql, CancellationToken ct, params object[] values)
    {
        await using var command = dataSource.CreateCommand(sql);
        Add(command, values);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var queued = new List<QueuedSummary>();
        while (await reader.ReadAsync(ct))
        {
            queued.Add(new QueuedSummary(reader.GetString(0), reader.GetString(1), reader.GetInt32(2),
                reader.GetFieldValue<DateTimeOffset>(3), reader.GetInt32(4)));
        }
        return queued;
    }

    private async Task ExecuteAsync(string sql, CancellationToken ct, params object[] values)
    {
        await using var command = dataSource.CreateCommand(sql);
        Add(command, values);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<int> RunAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken ct, params object[] values)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        Add(command, values);
        return await command.ExecuteNonQueryAsync(ct);
    }

    private static void Add(NpgsqlCommand command, params object[] values)
    {
        foreach (var value in values)
        {
            command.Parameters.Add(new() { Value = value });
        }
    }
}
