using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace ConversationService.EventStore;

public sealed class EventStoreOptions
{
    /// <summary>PostgreSQL schema holding streams, events, progression and every projection table.</summary>
    public string Schema { get; set; } = "conversations";

    /// <summary>How often the daemon polls for new events when it was not notified.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Max events one async projection handles per batch.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// How often a daemon that does not hold a projection's advisory lock (another replica runs it) tries again,
    /// and how long it waits after a failure before restarting the projection.
    /// </summary>
    public TimeSpan LockRetryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Group commit of appends at a known version: how many commits may run at once (each on its own connection),
    /// and how many appends one commit may carry. One writer makes the largest groups, hence the fewest commits per
    /// append: the most appends per second on a small machine (scripts/load/run.sh), with no worse p99.
    /// </summary>
    public int AppendWriters { get; set; } = 1;

    public int MaxAppendsPerCommit { get; set; } = 64;

    /// <summary>
    /// How many times an async projection tries one event on its own before it parks it (a dead letter) and goes on.
    /// Failures of the infrastructure (see <see cref="EventFailures.IsTransient"/>) never count: those are retried until
    /// they pass.
    /// </summary>
    public int ParkAfterAttempts { get; set; } = 5;

    /// <summary>The wait after an event's first failed attempt, doubled after each further one (at most a minute).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Readiness is Degraded while an async projection is more than this many sequence numbers behind the log.</summary>
    public long MaxLagEvents { get; set; } = 10_000;

    /// <summary>Readiness is Degraded while the oldest event an async projection has not processed is older than this.</summary>
    public int MaxLagSeconds { get; set; } = 60;
}

internal sealed partial class EventStoreOptionsValidator : IValidateOptions<EventStoreOptions>
{
    // The schema is spliced into SQL text, so it must be a plain identifier.
    [GeneratedRegex(@"^[a-z_][a-z0-9_]{0,62}\z")]
    private static partial Regex SafeIdentifier();

    public ValidateOptionsResult Validate(string? name, EventStoreOptions options)
    {
        var failures = Problems(options).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    public static IEnumerable<string> Problems(EventStoreOptions options)
    {
        if (options.Schema is null || !SafeIdentifier().IsMatch(options.Schema))
        {
            yield return $"EventStore:Schema '{options.Schema}' is invalid: set it to a lower-case identifier matching [a-z_][a-z0-9_]{{0,62}}.";
        }

        if (options.PollInterval <= TimeSpan.Zero || options.PollInterval > TimeSpan.FromMinutes(10))
        {
            yield return "EventStore:PollInterval must be between 1 ms and 10 minutes (e.g. 00:00:00.250).";
        }

        if (options.BatchSize is < 1 or > 10_000)
        {
            yield return "EventStore:BatchSize must be between 1 and 10000.";
        }

        if (options.LockRetryInterval <= TimeSpan.Zero || options.LockRetryInterval > TimeSpan.FromMinutes(10))
        {
            yield return "EventStore:LockRetryInterval must be between 1 ms and 10 minutes (e.g. 00:00:05).";
        }

        if (options.AppendWriters is < 1 or > 64)
        {
            yield return "EventStore:AppendWriters must be between 1 and 64.";
        }

        if (options.MaxAppendsPerCommit is < 1 or > 1_000)
        {
            yield return "EventStore:MaxAppendsPerCommit must be between 1 and 1000.";
        }

        if (options.ParkAfterAttempts is < 1 or > 100)
        {
            yield return "EventStore:ParkAfterAttempts must be between 1 and 100.";
        }

        if (options.RetryDelay <= TimeSpan.Zero || options.RetryDelay > TimeSpan.FromMinutes(1))
        {
            yield return "EventStore:RetryDelay must be between 1 ms and 1 minute (e.g. 00:00:00.500).";
        }

        if (options.MaxLagEvents is < 1 or > 1_000_000_000)
        {
            yield return "EventStore:MaxLagEvents must be between 1 and 1000000000.";
        }

        if (options.MaxLagSeconds is < 1 or > 86_400)
        {
            yield return "EventStore:MaxLagSeconds must be between 1 and 86400 (a day).";
        }
    }

    public static void ThrowIfInvalid(EventStoreOptions options)
    {
        var failures = Problems(options).ToList();
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(EventStoreOptions), failures);
        }
    }
}
