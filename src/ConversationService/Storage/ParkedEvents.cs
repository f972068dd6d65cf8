using System.Data.Common;
using System.Diagnostics.Metrics;
using ConversationService.Hosting;
using JasperFx.Events;
using JasperFx.Events.Daemon;

namespace ConversationService.Storage;

/// <summary>
/// How a subscription parks an event it cannot process: a dead letter in Marten's <c>mt_doc_deadletterevent</c> (what
/// readiness counts and the operator resolves) and one Error log line, both naming the event and the type of every
/// exception in the chain it failed with (<see cref="Describe"/>), never a message, which may quote content. Marten's
/// own dead letter of a subscription's failure says only "Failure to apply event #n" and one exception type.
/// </summary>
public static class ParkedEvents
{
    private const int MaxDescriptionLength = 1_000;

    public static async Task ParkAsync(
        ISubscriptionController controller, IEvent stored, Exception error, ILogger logger, ParkedEventCounter counter)
    {
        counter.Parked(controller.Name.Name);
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
    /// The type of each exception in the chain, with the SQLSTATE of a database error. Never a message: messages quote
    /// what failed, and no redaction catches all of it. System.Text.Json names the JSON path (metadata keys are
    /// content), PostgreSQL quotes the offending value, a serializer or a bug may embed the event's JSON, whose
    /// strings may hold escaped quotes, and a message may be cut off mid-string or quote nothing at all. The type and
    /// the event (its sequence, type, stream and tenant, which the log line and the dead letter name) are what the
    /// operator goes on (README, "Parked events"). No stack trace: it says nothing about the event.
    /// </summary>
    public static string Describe(Exception exception)
    {
        var text = string.Join(" ---> ", Chain(exception).Select(Name));
        return text.Length <= MaxDescriptionLength ? text : text[..(MaxDescriptionLength - 1)] + "…";
    }

    private static string Name(Exception exception) =>
        (exception.GetType().FullName ?? exception.GetType().Name)
        + (exception is DbException { SqlState: { Length: > 0 } state } ? $" (SQLSTATE {state})" : "");

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
}

/// <summary><c>conversation_service.events.parked</c>: the events a subscription parked, by subscription.</summary>
public sealed class ParkedEventCounter(ServiceMeter meter)
{
    private readonly Counter<long> _parked = meter.Meter.CreateCounter<long>(
        "conversation_service.events.parked", "{event}", "Events a subscription could not process and parked as dead letters, by subscription.");

    public void Parked(string subscription) => _parked.Add(1, new KeyValuePair<string, object?>("subscription", subscription));
}
