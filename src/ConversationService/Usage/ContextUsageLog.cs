using ConversationService.Storage;
using System.Threading.Channels;
using ConversationService.Hosting;
using Npgsql;

namespace ConversationService.Usage;

public sealed record ContextServed(
    string Tenant, string ConversationId, string Model, int TokensServed, long FullHistoryTokens, SectionTokens Sections,
    DateTimeOffset At);

/// <summary>The tokens a context response gave each kind of section (the dashboard's composition chart).</summary>
public sealed record SectionTokens(long System, long Summary, long Recent, long Recalled, long Knowledge, long Examples)
{
    public static readonly SectionTokens None = new(0, 0, 0, 0, 0, 0);

    /// <summary>The section kinds of GET context, in the order of the columns of <c>context_usage</c>.</summary>
    public static readonly string[] Kinds = ["system", "summary", "recent", "recalled", "knowledge", "examples"];

    public static SectionTokens Of(IEnumerable<(string Kind, int Tokens)> sections)
    {
        var sums = new long[Kinds.Length];
        foreach (var (kind, tokens) in sections)
        {
            sums[Array.IndexOf(Kinds, kind)] += tokens;
        }
        return new(sums[0], sums[1], sums[2], sums[3], sums[4], sums[5]);
    }

    public long[] ToArray() => [System, Summary, Recent, Recalled, Knowledge, Examples];

    public static SectionTokens operator +(SectionTokens a, SectionTokens b) => new(
        a.System + b.System, a.Summary + b.Summary, a.Recent + b.Recent, a.Recalled + b.Recalled,
        a.Knowledge + b.Knowledge, a.Examples + b.Examples);
}

/// <summary>
/// What each context response served against the full history, for the savings in GET /usage. The request only
/// enqueues; a background writer inserts in batches, at most one per <see cref="FlushInterval"/> unless they fill
/// up, so the context endpoint gains no database round trip and PostgreSQL few commits. A batch
/// is stored as one row per conversation, model and UTC day (the dashboard's unit) with its request count and token
/// sums (at the time of its last request): a busy conversation then costs PostgreSQL a row per batch, not per request. Under overload entries are
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
                requests            integer     NOT NULL DEFAULT 1,
                system_tokens       bigint      NOT NULL DEFAULT 0,
                summary_tokens      bigint      NOT NULL DEFAULT 0,
                recent_tokens       bigint      NOT NULL DEFAULT 0,
                recalled_tokens     bigint      NOT NULL DEFAULT 0,
                knowledge_tokens    bigint      NOT NULL DEFAULT 0,
                examples_tokens     bigint      NOT NULL DEFAULT 0);
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
                IF NOT EXISTS (SELECT 1 FROM pg_attribute
                               WHERE attrelid = '{schema.Name}.context_usage'::regclass AND attname = 'examples_tokens') THEN
                    ALTER TABLE {schema.Name}.context_usage
                        ADD COLUMN IF NOT EXISTS system_tokens bigint NOT NULL DEFAULT 0,
                        ADD COLUMN IF NOT EXISTS summary_tokens bigint NOT NULL DEFAULT 0,
                        ADD COLUMN IF NOT EXISTS recent_tokens bigint NOT NULL DEFAULT 0,
                        ADD COLUMN IF NOT EXISTS recalled_tokens bigint NOT NULL DEFAULT 0,
                        ADD COLUMN IF NOT EXISTS knowledge_tokens bigint NOT NULL DEFAULT 0,
                        ADD COLUMN IF NOT EXISTS examples_tokens bigint NOT NULL DEFAULT 0;
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
        var rows = batch.GroupBy(b => (b.Tenant, b.ConversationId, b.Model, Day: b.At.UtcDateTime.Date)).Select(g => (
            g.Key, Requests: g.Count(), Served: g.Sum(b => (long)b.TokensServed), Full: g.Sum(b => b.FullHistoryTokens),
            Sections: g.Aggregate(SectionTokens.None, (sum, b) => sum + b.Sections).ToArray(), At: g.Max(b => b.At))).ToArray();
        await using var command = dataSource.CreateCommand(
            $"""
            INSERT INTO {schema.Name}.context_usage
                (tenant_id, conversation_id, model, tokens_served, full_history_tokens, at, requests,
                 system_tokens, summary_tokens, recent_tokens, recalled_tokens, knowledge_tokens, examples_tokens)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::timestamptz[], $7::integer[],
                                 $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[])
            """);
        command.Parameters.Add(new() { Value = rows.Select(r => r.Key.Tenant).ToArray() });
        command.Parameters.Add(new() { Value = rows.Select(r => r.Key.ConversationId).ToArray() });
        command.Parameters.Add(new() { Value = rows.Select(r => r.Key.Model).ToArray() });
        command.Parameters.Add(new() { Value = rows.Select(r => r.Served).ToArray() });
        command.Parameters.Add(new() { Value = rows.Select(r => r.Full).ToArray() });
        command.Parameters.Add(new() { Value = rows.Select(r => r.At.UtcDateTime).ToArray() });
        command.Parameters.Add(new() { Value = rows.Select(r => r.Requests).ToArray() });
        for (var kind = 0; kind < SectionTokens.Kinds.Length; kind++)
        {
            command.Parameters.Add(new() { Value = rows.Select(r => r.Sections[kind]).ToArray() });
        }
        await command.ExecuteNonQueryAsync(ct);
    }
}
