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
