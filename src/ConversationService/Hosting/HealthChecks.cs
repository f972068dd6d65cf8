using System.Text.Json;
using ConversationService.Storage;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;
using RabbitMQ.Client;

namespace ConversationService.Hosting;

/// <summary>
/// Remembers the last result for a few seconds: readiness probes from several orchestrator nodes must not
/// turn into a connection storm against the broker and the database.
/// </summary>
public abstract class CachedHealthCheck(TimeProvider time) : IHealthCheck, IDisposable
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(3);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (HealthCheckResult Result, DateTimeOffset Until)? _last;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        if (_last is { } cached && cached.Until > time.GetUtcNow())
        {
            return cached.Result;
        }
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_last is { } again && again.Until > time.GetUtcNow())
            {
                return again.Result;
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Timeout);
            HealthCheckResult result;
            try
            {
                result = await ProbeAsync(timeout.Token);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // The exception message can hold host names but never credentials from the connection string.
                result = HealthCheckResult.Unhealthy($"{ex.GetType().Name}: {ex.Message}");
            }
            _last = (result, time.GetUtcNow() + CacheFor);
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The result to keep; an exception makes it Unhealthy with the exception's type and message.</summary>
    protected abstract Task<HealthCheckResult> ProbeAsync(CancellationToken cancellationToken);

    protected TimeProvider Time => time;

    public void Dispose()
    {
        _gate.Dispose();
        GC.SuppressFinalize(this);
    }
}

public sealed class PostgresHealthCheck(NpgsqlDataSource dataSource, TimeProvider time) : CachedHealthCheck(time)
{
    protected override async Task<HealthCheckResult> ProbeAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT 1");
        await command.ExecuteScalarAsync(cancellationToken);
        return HealthCheckResult.Healthy();
    }
}

public sealed class RabbitMqHealthCheck(IOptions<ConnectionStringsOptions> options, TimeProvider time) : CachedHealthCheck(time)
{
    protected override async Task<HealthCheckResult> ProbeAsync(CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            Uri = new Uri(options.Value.RabbitMq),
            RequestedConnectionTimeout = Timeout,
            ClientProvidedName = "conversation-service-health",
        };
        await using var connection = await factory.CreateConnectionAsync(cancellationToken);
        await connection.CloseAsync(cancellationToken);
        return HealthCheckResult.Healthy();
    }
}

/// <summary>
/// Marten's async daemon, from what it records in the database (so every replica reports the same): Degraded while a
/// projection or subscription has dead letters (parked events no operator has removed), is paused, or is more than
/// <see cref="EventStoreOptions.MaxLagEvents"/> events behind the high-water mark, or has left an event unprocessed for
/// longer than <see cref="EventStoreOptions.MaxLagSeconds"/>. Every shard the store runs counts, also one without a
/// progress row: one that failed on its first page (a provider down from the start, a new embedding model replaying
/// the log) has never written one. A row of a shard no longer configured does not.
/// </summary>
public sealed class EventStoreHealthCheck(
    IDocumentStore store, NpgsqlDataSource dataSource, IOptions<EventStoreOptions> options, TimeProvider time)
    : CachedHealthCheck(time)
{
    protected override async Task<HealthCheckResult> ProbeAsync(CancellationToken cancellationToken)
    {
        var progress = (await store.Advanced.AllProjectionProgress(token: cancellationToken))
            .ToDictionary(p => p.ShardName, StringComparer.Ordinal);
        var mark = progress.GetValueOrDefault(ShardState.HighWaterMark)?.Sequence ?? 0;
        // The shards this store runs, not every progress row: one of a projection no longer configured (the embedding
        // model before a switch) stays in the table and falls behind for good.
        var shards = ((DocumentStore)store).Options.Projections.AllShards().Select(s => s.Name.Identity)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var problems = new List<string>();
        var lagging = new List<(string Shard, long Sequence, long Behind)>();
        foreach (var shard in shards)
        {
            var state = progress.GetValueOrDefault(shard);
            var behind = mark - (state?.Sequence ?? 0);
            if (state?.AgentStatus is { } status && !status.Equals("Running", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"{shard}: {status.ToLowerInvariant()}{(state.PauseReason is { } why ? $" ({why})" : "")}");
            }
            else if (behind > options.Value.MaxLagEvents)
            {
                problems.Add($"{shard}: {behind} events behind");
            }
            else if (behind > 0)
            {
                lagging.Add((shard, state?.Sequence ?? 0, behind));
            }
        }
        foreach (var (shard, behind, since) in await OldestUnprocessedAsync(lagging, cancellationToken))
        {
            if (Time.GetUtcNow() - since > TimeSpan.FromSeconds(options.Value.MaxLagSeconds))
            {
                problems.Add($"{shard}: {behind} events behind, the oldest unprocessed from {since:u}");
            }
        }
        await using var session = store.QuerySession();
        var parked = await session.Query<DeadLetterEvent>().Where(d => d.AnyTenant())
            .GroupBy(d => d.ProjectionName).Select(g => new { Projection = g.Key, Count = g.Count() })
            .ToListAsync(cancellationToken);
        problems.AddRange(parked.Select(p => $"{p.Projection}: {p.Count} parked event(s), see mt_doc_deadletterevent"));
        return problems.Count == 0 ? HealthCheckResult.Healthy() : HealthCheckResult.Degraded(string.Join("; ", problems));
    }

    /// <summary>When the first event after each shard's position was stored (one primary-key lookup each).</summary>
    private async Task<List<(string Shard, long Behind, DateTimeOffset Since)>> OldestUnprocessedAsync(
        List<(string Shard, long Sequence, long Behind)> lagging, CancellationToken ct)
    {
        var oldest = new List<(string, long, DateTimeOffset)>();
        if (lagging.Count == 0)
        {
            return oldest;
        }
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT (SELECT e."timestamp" FROM {options.Value.Schema}.mt_events e WHERE e.seq_id > s.seq ORDER BY e.seq_id LIMIT 1)
            FROM unnest($1::bigint[]) WITH ORDINALITY AS s(seq, n) ORDER BY s.n
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = lagging.Select(l => l.Sequence).ToArray() });
        await using var reader = await command.ExecuteReaderAsync(ct);
        for (var i = 0; await reader.ReadAsync(ct); i++)
        {
            if (!await reader.IsDBNullAsync(0, ct))
            {
                oldest.Add((lagging[i].Shard, lagging[i].Behind, reader.GetFieldValue<DateTimeOffset>(0)));
            }
        }
        return oldest;
    }
}

public static class HealthCheckExtensions
{
    public static WebApplicationBuilder AddReadinessChecks(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<PostgresHealthCheck>();
        builder.Services.AddSingleton<RabbitMqHealthCheck>();
        builder.Services.AddSingleton<EventStoreHealthCheck>();
        builder.Services.AddHealthChecks()
            .AddCheck<PostgresHealthCheck>("postgresql", tags: ["ready"])
            .AddCheck<RabbitMqHealthCheck>("rabbitmq", tags: ["ready"])
            .AddCheck<EventStoreHealthCheck>("eventstore", tags: ["ready"]);
        return builder;
    }

    public static WebApplication MapHealthEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync })
            .AllowAnonymous();
        app.MapHealthChecks("/health/ready",
                new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = WriteAsync })
            .AllowAnonymous();
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, JsonSerializerOptions.Web));
    }
}
