using ConversationService.Storage;
using System.Threading.Channels;
using ConversationService.Hosting;
using Npgsql;

namespace ConversationService.Usage;

public sealed record ContextServed(string Tenant, string ConversationId, string Model, int TokensServed, long FullHistoryTokens, DateTimeOffset At);

/// <summary>
/// What each context response served against the full history, for the savings in GET /usage. The request only
/// enqueues; a background writer inserts in batches, at most one per <see cref="FlushInterval"/> unless they fill
/// up, so the context endpoint gains no database round trip and PostgreSQL few commits. A batch
/// is stored as one row per conversation and model with its request count and token sums (at the time of its last
/// request): a busy conversation then costs PostgreSQL a row per batch, not per request. Under overload entries are
/// dropped rather than slowing requests down: savings are statistics, not billing.
/// </summary>
public sealed class ContextUsageLog(NpgsqlDataSource dataSource, DatabaseSchema schema, ILogger<ContextUsageLog> logger)
    : BackgroundService
{
    private readonly Channel<ContextServed> _pending = Channel.CreateBounded<ContextServed>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    public void Record(ContextServed served) => _pending.Writer.TryWrite(served);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await UsageTables.CreateAsync(dataSource, schema, $"""
            CREATE SCHEMA IF NOT EXISTS {schema.Name};
            CREATE TABLE IF NOT EXISTS {schema.Name}.context_usage (
                tenant_id           text        NOT NULL,
                conversation_id     text        NOT NULL,
                model               text        NOT NULL,
                tokens_served       bigint      NOT NULL,
                full_history_tokens bigint      NOT NULL,
                at                  timestamptz NOT NULL,
                requests            integer     NOT NULL DEFAULT 1);
            -- Upgrades of tables from earlier versions, only when needed: an ALTER TABLE takes an exclusive lock even
            -- when it changes nothing, and every replica runs this at start-up.
            DO $upgrade$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_attribute
                               WHERE attrelid = '{schema.Name}.context_usage'::regclass AND attname = 'requests') THEN
                    ALTER TABLE {schema.Name}.context_usage ADD COLUMN IF NOT EXISTS requests integer NOT NULL DEFAULT 1;
                END IF;
                IF EXISTS (SELECT 1 FROM pg_attribute
                           WHERE attrelid = '{schema.Name}.context_usage'::regclass AND attname = 'tokens_served'
                             AND atttypid <> 'bigint'::regtype) THEN
                    ALTER TABLE {schema.Name}.context_usage ALTER COLUMN tokens_served TYPE bigint;
                END IF;
            END
            $upgrade$;
            CREATE INDEX IF NOT EXISTS context_usage_tenant_at ON {schema.Name}.context_usage (tenant_id, at);
            """, cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<ContextServed>();
        while (await _pending.Reader.WaitToReadAsync(stoppingToken))
        {
            while (batch.Count < 1_000 && _pending.Reader.TryRead(out var served))
            {
                batch.Add(served);
            }
            try
            {
                await InsertAsync(batch, stoppingToken);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                logger.LogWarning("Dropped {Count} context usage records: {Error}", batch.Count, e.Message);
            }
            var full = batch.Count == 1_000;
            batch.Clear();
            if (!full)
            {
                // At most a few inserts a second: a busy endpoint then costs PostgreSQL a commit per interval, not one
                // per insert round trip.
                await Task.Delay(FlushInterval, stoppingToken);
            }
        }
    }

    /// <summary>The pause after a batch that did not fill up, so records gather into the next one.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(250);

    private async Task InsertAsync(List<ContextServed> batch, CancellationToken ct)
    {
        var rows = batch.GroupBy(b => (b.Tenant, b.ConversationId, b.Model)).Select(g => (
            g.Key, Requests: g.Count(), Served: g.Sum(b => (long)b.TokensServed), Full: g.Sum(b => b.FullHistoryTokens),
            At: g.Max(b => b.At))).ToArray();
        await using var command = dataSource.CreateCommand(
            $"""
            INSERT INTO {schema.Name}.context_usage
                (tenant_id, conversation_id, model, tokens_served, full_history_tokens, at, requests)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::timestamptz[], $7::integer[])
            """);
        command.Parameters.Add(new() { Value = rows.Select(r => r.Key.Tenant).ToArray() });
        command.Parameters.Add(new() { Value = rows.Select(r => r.Key.ConversationId).ToArray() });
        command.Parameters.Add(new() { Value = rows.Select(r => r.Key.Model).ToArray() });
        command.Parameters.Add(new() { Value = rows.Select(r => r.Served).ToArray() });
        command.Parameters.Add(new() { Value = rows.Select(r => r.Full).ToArray() });
        command.Parameters.Add(new() { Value = rows.Select(r => r.At.UtcDateTime).ToArray() });
        command.Parameters.Add(new() { Value = rows.Select(r => r.Requests).ToArray() });
        await command.ExecuteNonQueryAsync(ct);
    }
}
