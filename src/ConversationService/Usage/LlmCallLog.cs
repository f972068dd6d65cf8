using ConversationService.Storage;
using ConversationService.Contracts;
using ConversationService.Hosting;
using Npgsql;

namespace ConversationService.Usage;

/// <summary>One provider call that returned: who caused it, what it cost.</summary>
public sealed record LlmCall(
    string Tenant, string? ConversationId, string CallType, string Model, LlmUsage Usage, TimeSpan Latency,
    decimal CostUsd, DateTimeOffset At);

public static class CallTypes
{
    public const string Summary = "summary";

    /// <summary>A summary answered by a Batch API job, at the batch price.</summary>
    public const string BatchSummary = "summary_batch";
    public const string Embedding = "embedding";
}

/// <summary>Append-only log of LLM calls (the usage endpoint aggregates it); its table is created at start-up.</summary>
public sealed class LlmCallLog(NpgsqlDataSource dataSource, DatabaseSchema schema, UsageMetrics metrics) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => UsageTables.CreateAsync(dataSource, schema, $"""
            CREATE SCHEMA IF NOT EXISTS {schema.Name};
            CREATE TABLE IF NOT EXISTS {schema.Name}.llm_calls (
                id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                tenant_id       text          NOT NULL,
                conversation_id text          NULL,
                call_type       text          NOT NULL,
                model           text          NOT NULL,
                input_tokens    integer       NOT NULL,
                cached_tokens   integer       NOT NULL,
                output_tokens   integer       NOT NULL,
                latency_ms      integer       NOT NULL,
                cost_usd        numeric(18,9) NOT NULL,
                at              timestamptz   NOT NULL);
            CREATE INDEX IF NOT EXISTS llm_calls_tenant_at ON {schema.Name}.llm_calls (tenant_id, at);
            """, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Records the call, within <paramref name="transaction"/> when one is given (committed by its owner).</summary>
    public async Task RecordAsync(LlmCall call, CancellationToken ct, NpgsqlTransaction? transaction = null)
    {
        const string Columns = "tenant_id, conversation_id, call_type, model, input_tokens, cached_tokens, output_tokens, latency_ms, cost_usd, at";
        var sql = $"INSERT INTO {schema.Name}.llm_calls ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        await using var command = transaction is null
            ? dataSource.CreateCommand(sql)
            : new NpgsqlCommand(sql, transaction.Connection, transaction);
        command.Parameters.Add(new() { Value = call.Tenant });
        command.Parameters.Add(new() { Value = (object?)call.ConversationId ?? DBNull.Value });
        command.Parameters.Add(new() { Value = call.CallType });
        command.Parameters.Add(new() { Value = call.Model });
        command.Parameters.Add(new() { Value = call.Usage.InputTokens });
        command.Parameters.Add(new() { Value = call.Usage.CachedInputTokens });
        command.Parameters.Add(new() { Value = call.Usage.OutputTokens });
        command.Parameters.Add(new() { Value = (int)Math.Min(int.MaxValue, call.Latency.TotalMilliseconds) });
        command.Parameters.Add(new() { Value = call.CostUsd });
        command.Parameters.Add(new() { Value = call.At.UtcDateTime });
        await command.ExecuteNonQueryAsync(ct);
        metrics.Called(call);
    }

    /// <summary>What the tenant spent since <paramref name="since"/> (the daily budget reads today's).</summary>
    public async Task<decimal> SpentSinceAsync(string tenant, DateTimeOffset since, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT COALESCE(sum(cost_usd), 0) FROM {schema.Name}.llm_calls WHERE tenant_id = $1 AND at >= $2");
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = since.UtcDateTime });
        return (decimal)(await command.ExecuteScalarAsync(ct))!;
    }
}
