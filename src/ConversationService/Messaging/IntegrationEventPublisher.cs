using ConversationService.EventStore;
using MassTransit;
using Microsoft.Extensions.Options;
using Contracts = ConversationService.Contracts;
using Stored = ConversationService.Conversations;
using StoredSummaries = ConversationService.Summaries;

namespace ConversationService.Messaging;

/// <summary>
/// The event log is the outbox: the daemon feeds every committed event here in seq_id order and saves its
/// checkpoint only after this returns, i.e. after the broker confirmed every publish of the batch. A broker outage
/// makes the batch fail and the daemon retry from the checkpoint, so appends never wait for RabbitMQ and nothing
/// is lost; a retried batch republishes what was already confirmed (at least once, same MessageId).
/// <para>
/// An event that cannot be published while the broker is up (a message the serializer rejects) is parked by the
/// daemon after its retries, and the conversation's later events are published after it: a subscriber sees the gap in
/// <c>Version</c>, and the operator sees the dead letter (README, "Parked events"). Holding back the rest of the
/// conversation for good instead would cost every later turn of it, and the log is still there to read it from.
/// </para>
/// </summary>
public sealed class IntegrationEventPublisher(IBus bus, IBusControl control, IOptions<MessagingOptions> options) : IAsyncProjection
{
    public string Name => "integration_events";

    // A broker outage must not hold back indexedVersion, which clients use to wait for retrieval indexes.
    public bool TracksIndexedVersion => false;

    public string Ddl(string schema) => "";

    public bool IsTransient(Exception exception) => BrokerFailures.IsTransient(exception, control);

    public async Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.PublishTimeout);
        // Conversations are independent, so they go out concurrently; inside one, each publish waits for the
        // previous confirm, which is what keeps a conversation's events in order on the exchange.
        var streams = events.GroupBy(e => (e.TenantId, StoredSummaries.SummaryStream.ConversationIdOf(e.StreamId))).ToArray();
        await Parallel.ForEachAsync(
            streams,
            new ParallelOptions { MaxDegreeOfParallelism = options.Value.PublishConcurrency, CancellationToken = timeout.Token },
            async (stream, ct) =>
            {
                foreach (var stored in stream)
                {
                    if (IntegrationEvents.From(stored) is { } message)
                    {
                        // WaitAsync: a publish caught in a dropped connection must not hold the daemon past the timeout.
                        await bus.Publish(message, message.GetType(),
                            Pipe.Execute<PublishContext>(context =>
                            {
                                // The stored event id: subscribers can deduplicate redeliveries on MessageId.
                                context.MessageId = stored.Id;
                                context.Durable = true;
                            }), ct).WaitAsync(ct);
                    }
                }
            });
    }
}

/// <summary>Stored event -> contract message. Pure; null for events that are not part of the public contract.</summary>
public static class IntegrationEvents
{
    public static Contracts.IConversationEvent? From(StoredEvent e) => e.Data switch
    {
        Stored.ConversationStarted s => new Contracts.ConversationStarted(
            e.TenantId, e.StreamId, e.Version, e.Sequence, e.Timestamp, s.SystemPrompt, s.Model, s.Metadata),
        Stored.ConversationSettingsChanged c => new Contracts.ConversationSettingsChanged(
            e.TenantId, e.StreamId, e.Version, e.Sequence, e.Timestamp, c.SystemPrompt, c.Model, c.Metadata),
        Stored.TurnAppended t => new Contracts.TurnAppended(
            e.TenantId, e.StreamId, e.Version, e.Sequence, e.Timestamp, t.TurnId, t.Index, t.Role, t.Content, t.Name,
            t.OccurredAt, t.Tokens, t.Encoding, t.Metadata),
        StoredSummaries.ConversationSummarized s => new Contracts.ConversationSummarized(
            e.TenantId, StoredSummaries.SummaryStream.ConversationIdOf(e.StreamId), e.Version, e.Sequence, e.Timestamp, s.FromIndex, s.ThroughIndex, s.Summary,
            s.SummaryTokens, s.Model, new Contracts.LlmUsage(s.Usage.InputTokens, s.Usage.CachedInputTokens, s.Usage.OutputTokens),
            s.CostUsd),
        Stored.ConversationDeleted => new Contracts.ConversationDeleted(
            e.TenantId, e.StreamId, e.Version, e.Sequence, e.Timestamp),
        _ => null,
    };
}
