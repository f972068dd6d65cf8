using System.Text.RegularExpressions;
using JasperFx.Events;
using JasperFx.Events.Daemon;

namespace ConversationService.Storage;

/// <summary>
/// How a subscription parks an event it cannot process: a dead letter in Marten's <c>mt_doc_deadletterevent</c> (what
/// readiness counts and the operator resolves) and one Error log line, both naming the event and why it failed without
/// the content the error may quote. Marten's own dead letter of a subscription's failure says only "Failure to apply
/// event #n" and the outermost exception's type, which leaves the operator to guess the reason.
/// </summary>
public static partial class ParkedEvents
{
    private const int MaxDescriptionLength = 1_000;

    public static async Task ParkAsync(ISubscriptionController controller, IEvent stored, Exception error, ILogger logger)
    {
        var description = Describe(error);
        logger.LogError(
            "{Subscription}: parked event {Sequence} ({Type}, version {Version} of stream {Stream}, tenant {Tenant}): {Error}",
            controller.Name.Name, stored.Sequence, stored.EventTypeName, stored.Version, stored.StreamKey, stored.TenantId,
            description);
        if (controller is ISubscriptionAgent agent)
        {
            await agent.RecordDeadLetterEventAsync(new DeadLetterEvent
            {
                Id = Guid.CreateVersion7(),
                ProjectionName = controller.Name.Name,
                ShardName = controller.Name.ShardKey,
                Timestamp = DateTimeOffset.UtcNow,
                EventSequence = stored.Sequence,
                TenantId = stored.TenantId,
                ExceptionType = error.GetType().FullName ?? error.GetType().Name,
                ExceptionMessage = description,
            });
        }
        else
        {
            await controller.RecordDeadLetterEventAsync(stored, error);
        }
    }

    /// <summary>
    /// Type and message of each exception in the chain. Messages can quote what failed: System.Text.Json names the JSON
    /// path (metadata keys are content) and PostgreSQL quotes the offending value, so paths and quoted text are left
    /// out. No stack trace: it says nothing about the event.
    /// </summary>
    public static string Describe(Exception exception)
    {
        var parts = Chain(exception).Select(e => $"{e.GetType().FullName}: {Redact(e.Message)}");
        var text = string.Join(" ---> ", parts);
        return text.Length <= MaxDescriptionLength ? text : text[..(MaxDescriptionLength - 1)] + "…";
    }

    internal static string Redact(string message)
    {
        var text = message;
        var path = text.IndexOf(" Path: ", StringComparison.Ordinal);
        if (path >= 0)
        {
            text = text[..path];
        }
        text = Quoted().Replace(text, match => match.Value[0] + "…" + match.Value[^1]);
        return Whitespace().Replace(text, " ").Trim();
    }

    /// <summary>The exception, its inner exceptions and those of aggregates, outermost first; bounded against cycles.</summary>
    private static IEnumerable<Exception> Chain(Exception exception)
    {
        var pending = new Stack<Exception>([exception]);
        for (var seen = 0; pending.Count > 0 && seen < 32; seen++)
        {
            var current = pending.Pop();
            yield return current;
            if (current is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.Reverse())
                {
                    pending.Push(inner);
                }
            }
            else if (current.InnerException is { } inner)
            {
                pending.Push(inner);
            }
        }
    }

    [GeneratedRegex("\"[^\"]*\"|'[^']*'|“[^”]*”|‘[^’]*’")]
    private static partial Regex Quoted();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
