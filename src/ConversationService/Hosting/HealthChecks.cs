using System.Text.Json;
using ConversationService.EventStore;
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
/// Degraded (still 200: the service serves) while an async projection or the publisher has parked events, keeps
/// failing, or lags behind the log by more than <c>EventStore:MaxLagEvents</c> or <c>EventStore:MaxLagSeconds</c>;
/// the description says which and why. One statement of index lookups, and cached like the others.
/// </summary>
public sealed class EventStoreHealthCheck(EventStore.EventStore store, TimeProvider time) : CachedHealthCheck(time)
{
    protected override async Task<HealthCheckResult> ProbeAsync(CancellationToken cancellationToken)
    {
        var problems = DaemonHealth.Problems(await store.GetDaemonHealthAsync(cancellationToken), store.Options, Time.GetUtcNow());
        return problems.Count == 0 ? HealthCheckResult.Healthy() : HealthCheckResult.Degraded(string.Join("; ", problems));
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
