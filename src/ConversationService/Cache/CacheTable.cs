using System.Numerics.Tensors;
using System.Text.Json;
using ConversationService.Storage;
using ConversationService.Usage;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace ConversationService.Cache;

/// <summary>An entry to store: <see cref="Question"/> is the final user message as sent, <see cref="Vector"/> its embedding.</summary>
public sealed record NewCacheEntry(
    string Key, string Model, string Fingerprint, string Question, float[] Vector, string Response, JsonElement? Metadata,
    int OutputTokens, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);

/// <summary>The best stored entry for a lookup that passed the hit decision.</summary>
public sealed record CacheHit(string Key, double Similarity, string Response, JsonElement? Metadata, int OutputTokens, DateTimeOffset CreatedAt);

/// <summary>
/// The entries in PostgreSQL (<c>cache_entries</c>), one row per tenant and key with the vector beside the response, and
/// one row per lookup in <c>cache_usage</c> for GET /usage. A lookup reads the vectors of the tenant's unexpired entries
/// of the same model and fingerprint and compares them in process: nothing is held in memory, so a deleted entry is gone
/// from every replica with its row. Each replica also deletes expired entries every <see cref="CacheOptions.PurgeInterval"/>.
/// </summary>
public sealed class CacheTable(
    NpgsqlDataSource dataSource, DatabaseSchema schema, IOptions<CacheOptions> options, TimeProvider time, ILogger<CacheTable> logger)
    : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await UsageTables.CreateAsync(dataSource, schema, $"""
            CREATE SCHEMA IF NOT EXISTS {schema.Name};
            CREATE TABLE IF NOT EXISTS {schema.Name}.cache_entries (
                tenant_id     text        NOT NULL,
                key           text        NOT NULL,
                model         text        NOT NULL,
                fingerprint   text        NOT NULL,
                question      text        NOT NULL,
                vector        real[]      NOT NULL,
                response      text        NOT NULL,
                metadata      jsonb,
                output_tokens integer     NOT NULL,
                created_at    timestamptz NOT NULL,
                expires_at    timestamptz NOT NULL,
                PRIMARY KEY (tenant_id, key));
            CREATE INDEX IF NOT EXISTS cache_entries_scope ON {schema.Name}.cache_entries (tenant_id, model, fingerprint);
            CREATE INDEX IF NOT EXISTS cache_entries_age ON {schema.Name}.cache_entries (tenant_id, created_at);
            CREATE INDEX IF NOT EXISTS cache_entries_expiry ON {schema.Name}.cache_entries (expires_at);
            CREATE TABLE IF NOT EXISTS {schema.Name}.cache_usage (
                tenant_id     text        NOT NULL,
                model         text        NOT NULL,
                at            timestamptz NOT NULL,
                hit           boolean     NOT NULL,
                input_tokens  bigint      NOT NULL,
                output_tokens bigint      NOT NULL);
            CREATE INDEX IF NOT EXISTS cache_usage_tenant_at ON {schema.Name}.cache_usage (tenant_id, at);
            """, cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PurgeInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await using var purge = dataSource.CreateCommand($"DELETE FROM {schema.Name}.cache_entries WHERE expires_at <= $1");
                purge.Parameters.Add(new() { Value = time.GetUtcNow().UtcDateTime });
                await purge.ExecuteNonQueryAsync(stoppingToken);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Purging expired cache entries failed: {Error}", e.Message);
            }
        }
    }

    /// <summary>
    /// Stores (or replaces) the entry, deletes the tenant's expired entries and, past
    /// <see cref="CacheOptions.MaxEntriesPerTenant"/>, its oldest: one transaction.
    /// </summary>
    public async Task PutAsync(string tenant, NewCacheEntry entry, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new($"""
                    INSERT INTO {schema.Name}.cache_entries
                        (tenant_id, key, model, fingerprint, question, vector, response, metadata, output_tokens, created_at, expires_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                    ON CONFLICT (tenant_id, key) DO UPDATE SET
                        question = excluded.question, vector = excluded.vector, response = excluded.response,
                        metadata = excluded.metadata, output_tokens = excluded.output_tokens,
                        created_at = excluded.created_at, expires_at = excluded.expires_at
                    """)
                {
                    Parameters =
                    {
                        new() { Value = tenant }, new() { Value = entry.Key }, new() { Value = entry.Model },
                        new() { Value = entry.Fingerprint }, new() { Value = entry.Question }, new() { Value = entry.Vector },
                        new() { Value = entry.Response },
                        new() { NpgsqlDbType = NpgsqlDbType.Jsonb, Value = entry.Metadata?.GetRawText() ?? (object)DBNull.Value },
                        new() { Value = entry.OutputTokens }, new() { Value = entry.CreatedAt.UtcDateTime },
                        new() { Value = entry.ExpiresAt.UtcDateTime },
                    },
                },
                new($"DELETE FROM {schema.Name}.cache_entries WHERE tenant_id = $1 AND expires_at <= $2")
                {
                    Parameters = { new() { Value = tenant }, new() { Value = entry.CreatedAt.UtcDateTime } },
                },
                new($"""
                    DELETE FROM {schema.Name}.cache_entries WHERE tenant_id = $1 AND key IN (
                        SELECT key FROM {schema.Name}.cache_entries WHERE tenant_id = $1
                        ORDER BY created_at DESC, key OFFSET $2)
                    """)
                {
                    Parameters = { new() { Value = tenant }, new() { Value = options.Value.MaxEntriesPerTenant } },
                },
            },
        };
        await batch.ExecuteNonQueryAsync(ct);
        await transaction.CommitAsync(ct);
    }

    /// <summary>
    /// The most similar unexpired entry of the tenant, model and fingerprint that passes the hit decision, or null.
    /// The vectors are read and compared first; the response only of the winner.
    /// </summary>
    public async Task<CacheHit?> FindAsync(
        string tenant, string model, string fingerprint, CacheQuestion asked, float[] vector, double minSimilarity, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var candidates = new List<(string Key, string Question, double Similarity)>();
        await using (var command = new NpgsqlCommand(
            $"""
            SELECT key, question, vector FROM {schema.Name}.cache_entries
            WHERE tenant_id = $1 AND model = $2 AND fingerprint = $3 AND expires_at > $4
            """, connection))
        {
            command.Parameters.Add(new() { Value = tenant });
            command.Parameters.Add(new() { Value = model });
            command.Parameters.Add(new() { Value = fingerprint });
            command.Parameters.Add(new() { Value = now });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var stored = reader.GetFieldValue<float[]>(2);
                var similarity = stored.Length == vector.Length ? TensorPrimitives.Dot(vector, stored) : 0;
                if (similarity >= minSimilarity)
                {
                    candidates.Add((reader.GetString(0), reader.GetString(1), similarity));
                }
            }
        }
        var best = candidates.OrderByDescending(c => c.Similarity)
            .FirstOrDefault(c => CacheDecisions.IsHit(c.Similarity, minSimilarity, asked, CacheDecisions.Parse(c.Question)));
        if (best.Key is null)
        {
            return null;
        }
        await using var read = new NpgsqlCommand(
            $"""
            SELECT response, metadata::text, output_tokens, created_at FROM {schema.Name}.cache_entries
            WHERE tenant_id = $1 AND key = $2 AND expires_at > $3
            """, connection);
        read.Parameters.Add(new() { Value = tenant });
        read.Parameters.Add(new() { Value = best.Key });
        read.Parameters.Add(new() { Value = now });
        await using var row = await read.ExecuteReaderAsync(ct);
        if (!await row.ReadAsync(ct))
        {
            return null; // deleted or replaced meanwhile
        }
        var metadata = row.IsDBNull(1) ? (JsonElement?)null : JsonDocument.Parse(row.GetString(1)).RootElement.Clone();
        return new CacheHit(best.Key, Math.Min(1, best.Similarity), row.GetString(0), metadata, row.GetInt32(2),
            new DateTimeOffset(row.GetDateTime(3), TimeSpan.Zero));
    }

    /// <summary>Records a lookup for GET /usage: a hit with the input and output tokens it saved, a miss with none.</summary>
    public async Task RecordLookupAsync(string tenant, string model, bool hit, long inputTokens, long outputTokens, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"INSERT INTO {schema.Name}.cache_usage (tenant_id, model, at, hit, input_tokens, output_tokens) VALUES ($1, $2, $3, $4, $5, $6)");
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = model });
        command.Parameters.Add(new() { Value = time.GetUtcNow().UtcDateTime });
        command.Parameters.Add(new() { Value = hit });
        command.Parameters.Add(new() { Value = inputTokens });
        command.Parameters.Add(new() { Value = outputTokens });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Deletes one entry of the tenant (false when there was none) or, with a null key, all of them; returns the count.</summary>
    public async Task<int> DeleteAsync(string tenant, string? key, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"DELETE FROM {schema.Name}.cache_entries WHERE tenant_id = $1 AND ($2::text IS NULL OR key = $2)");
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { NpgsqlDbType = NpgsqlDbType.Text, Value = key ?? (object)DBNull.Value });
        return await command.ExecuteNonQueryAsync(ct);
    }
}
