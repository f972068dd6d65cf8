using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ConversationService.Hosting;

/// <summary>How much work one replica takes on at once (configuration section <c>Overload</c>).</summary>
public sealed class OverloadOptions
{
    /// <summary>Requests worked on at once; health probes are not counted.</summary>
    public int MaxConcurrentRequests { get; set; } = 64;

    /// <summary>Requests that wait, oldest first, for one of those places; beyond them a request gets 503 at once.</summary>
    public int QueueLimit { get; set; } = 1_000;

    /// <summary>How long a request may wait in that queue before it gets 503.</summary>
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromSeconds(2);

    public IEnumerable<string> Problems()
    {
        if (MaxConcurrentRequests is < 1 or > 100_000)
        {
            yield return "Overload:MaxConcurrentRequests must be between 1 and 100000.";
        }
        if (QueueLimit is < 0 or > 1_000_000)
        {
            yield return "Overload:QueueLimit must be between 0 (no queue) and 1000000.";
        }
        if (QueueTimeout <= TimeSpan.Zero || QueueTimeout > TimeSpan.FromMinutes(1))
        {
            yield return "Overload:QueueTimeout must be between 1 ms and 1 minute (e.g. 00:00:02).";
        }
    }
}

/// <summary>
/// Overload answers 503 with Retry-After, never 500. Two layers: a gate in front of the endpoints that works on at most
/// <see cref="OverloadOptions.MaxConcurrentRequests"/> requests and queues a bounded number briefly, so the service
/// never takes on more than its PostgreSQL pool (Postgres:MaxPoolSize) can serve in time; and, for what still gets
/// through when PostgreSQL itself is short of connections (the pool's wait timed out, or the server refused a new
/// connection), <see cref="IsOverload"/> for the exception handler. A gate 503 comes before the endpoint runs, so it
/// stored nothing. The others arise when a connection is opened: an append is one transaction with nothing read after
/// it, so its 503 stored nothing either; a PUT that reads its result back after committing may have stored it, and a
/// PUT may be repeated. Retrying a turn with the same id is safe in every case (idempotent by turn id).
/// </summary>
public static class Overload
{
    /// <summary>What every 503 asks a client to wait before it retries.</summary>
    public const int RetryAfterSeconds = 1;

    // Npgsql's message when no pooled connection became free within Timeout (PoolingDataSource); the inner
    // TimeoutException alone would also match a command timeout, which is no sign of overload.
    private const string PoolExhausted = "The connection pool has been exhausted";

    public static WebApplicationBuilder AddOverloadProtection(this WebApplicationBuilder builder)
    {
        builder.Services.AddCheckedOptions<OverloadOptions>(builder.Configuration.GetSection("Overload"), o => o.Problems());
        builder.Services.AddSingleton<RequestGate>();
        return builder;
    }

    /// <summary>After authentication and authorization, so requests that are refused anyway take no place.</summary>
    public static WebApplication UseOverloadProtection(this WebApplication app)
    {
        var gate = app.Services.GetRequiredService<RequestGate>();
        app.Use(gate.InvokeAsync);
        return app;
    }

    /// <summary>
    /// True for the errors that mean PostgreSQL has no connection for this request now: the pool's wait timed out
    /// (Postgres:ConnectionTimeout), or the server refused a connection: 53300 too_many_connections ("sorry, too many
    /// clients already", "remaining connection slots are reserved", a database's or role's connection limit) or
    /// 57P03 cannot_connect_now (starting up, shutting down). Nothing else: a bug must stay a 500.
    /// </summary>
    public static bool IsOverload(Exception exception) => exception switch
    {
        PostgresException { SqlState: PostgresErrorCodes.TooManyConnections or PostgresErrorCodes.CannotConnectNow } => true,
        PostgresException => false,
        NpgsqlException { InnerException: TimeoutException } npgsql => npgsql.Message.StartsWith(PoolExhausted, StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>The exception handler's answer for <see cref="IsOverload"/>: 503, Retry-After, a warning without a stack.</summary>
    public static ValueTask<bool> AnswerAsync(HttpContext context, IProblemDetailsService problems, Exception exception, ILogger logger)
    {
        logger.LogWarning("PostgreSQL has no connection for {Method} {Path}, answered 503: {Reason}",
            context.Request.Method, context.Request.Path, exception.Message);
        return problems.TryWriteAsync(Unavailable(context, exception,
            "PostgreSQL has no connection free for this request. Retry shortly; turn ids make a retry safe."));
    }

    private static ProblemDetailsContext Unavailable(HttpContext context, Exception? exception, string detail)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = { Status = StatusCodes.Status503ServiceUnavailable, Title = "Service unavailable", Detail = detail },
        };
    }

    /// <summary>
    /// Lets <see cref="OverloadOptions.MaxConcurrentRequests"/> requests through at once and queues up to
    /// <see cref="OverloadOptions.QueueLimit"/> for at most <see cref="OverloadOptions.QueueTimeout"/>; the rest get 503
    /// before anything of theirs is read or stored. The wait is bounded in time as well as in length: when PostgreSQL
    /// slows down, a full queue would otherwise hold each request for as long as the queue takes to drain.
    /// </summary>
    public sealed class RequestGate(IOptions<OverloadOptions> options) : IDisposable
    {
        private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.Value.MaxConcurrentRequests,
            QueueLimit = options.Value.QueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });

        public async Task InvokeAsync(HttpContext context, RequestDelegate next)
        {
            // Probes must see a busy replica as it is (alive, ready), not wait behind its requests or get 503.
            if (context.Request.Path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase))
            {
                await next(context);
                return;
            }
            using var lease = await AcquireAsync(context.RequestAborted);
            if (lease?.IsAcquired != true)
            {
                var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
                await problems.WriteAsync(Unavailable(context, null,
                    "The service is at its limit of concurrent requests (Overload:MaxConcurrentRequests and "
                    + "Overload:QueueLimit); nothing was stored. Retry shortly."));
                return;
            }
            await next(context);
        }

        /// <summary>A lease, acquired or refused (queue full); null when the queue wait timed out.</summary>
        private async ValueTask<RateLimitLease?> AcquireAsync(CancellationToken aborted)
        {
            var lease = _limiter.AttemptAcquire();
            if (lease.IsAcquired)
            {
                return lease;
            }
            lease.Dispose();
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            wait.CancelAfter(options.Value.QueueTimeout);
            try
            {
                return await _limiter.AcquireAsync(1, wait.Token);
            }
            catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
            {
                return null;
            }
        }

        public void Dispose() => _limiter.Dispose();
    }
}
