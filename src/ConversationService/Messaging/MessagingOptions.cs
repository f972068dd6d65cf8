using System.Text.RegularExpressions;

namespace ConversationService.Messaging;

/// <summary>Section <c>Messaging</c>. The broker itself is <c>ConnectionStrings:RabbitMq</c>.</summary>
public sealed partial class MessagingOptions
{
    /// <summary>
    /// Prepended to every queue this service consumes from (e.g. "staging-" gives "staging-summarize-conversation"),
    /// so several deployments, or parallel test runs, can share one virtual host without stealing each other's commands.
    /// </summary>
    public string EndpointPrefix { get; set; } = "";

    /// <summary>Unacknowledged messages the broker hands each consumer queue at once.</summary>
    public int PrefetchCount { get; set; } = 16;

    /// <summary>Messages processed concurrently per queue; summaries call an LLM, so this bounds provider load too.</summary>
    public int ConcurrentMessageLimit { get; set; } = 4;

    /// <summary>
    /// Conversations whose events are published concurrently (each conversation stays in order). Many publishes in
    /// flight share socket writes and broker wake-ups: under load, 128 instead of 8 took the broker's CPU per event
    /// down by about a fifth (scripts/load/run.sh).
    /// </summary>
    public int PublishConcurrency { get; set; } = 128;

    /// <summary>How long one daemon batch may wait for broker confirms before it is retried from the checkpoint.</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(30);

    [GeneratedRegex(@"^[a-z0-9._-]{0,64}\z")]
    private static partial Regex SafePrefix();

    public IEnumerable<string> Problems()
    {
        if (EndpointPrefix is null || !SafePrefix().IsMatch(EndpointPrefix))
        {
            yield return "Messaging:EndpointPrefix must be at most 64 characters of a-z 0-9 . _ -";
        }
        if (PrefetchCount is < 1 or > 1_000)
        {
            yield return "Messaging:PrefetchCount must be between 1 and 1000.";
        }
        if (ConcurrentMessageLimit < 1 || ConcurrentMessageLimit > PrefetchCount)
        {
            yield return "Messaging:ConcurrentMessageLimit must be between 1 and Messaging:PrefetchCount.";
        }
        if (PublishConcurrency is < 1 or > 256)
        {
            yield return "Messaging:PublishConcurrency must be between 1 and 256.";
        }
        if (PublishTimeout <= TimeSpan.Zero || PublishTimeout > TimeSpan.FromMinutes(10))
        {
            yield return "Messaging:PublishTimeout must be between 1 ms and 10 minutes (e.g. 00:00:30).";
        }
    }
}
