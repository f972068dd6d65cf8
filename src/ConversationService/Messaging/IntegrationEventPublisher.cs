using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Subscriptions;
using MassTransit;
using ConversationService.Hosting;
using ConversationService.Storage;
using Microsoft.Extensions.Options;
using Contracts = ConversationService.Contracts;
using Stored = ConversationService.Conversations;
using StoredSummaries = ConversationService.Summaries;
using DailyBudgetReached = ConversationService.Usage.DailyBudgetReached;

namespace ConversationService.Messaging;

/// <summary>
/// The event log is the outbox: a Marten subscription feeds every committed event here in sequence order, and Marten
/// saves its progress only after this returns, i.e. after the broker confirmed every publish of the page. A broker
/// outage makes the page fail: Marten pauses the subscription and restarts it from its progress, so appends never wait
/// for RabbitMQ and nothing is lost; a retried page republishes what was already confirmed (at least once, same
/// MessageId).
/// <para>
/// An event that cannot be published while the broker is up (a message the serializer rejects) is tried alone a few
/// times, then parked (<see cref="ParkedEvents"/>: a dead letter in Marten's <c>mt_doc_deadletterevent</c>) and
/// skipped, and the conversation's later events are published after it: a subscriber sees the gap in
/// <c>Version</c>, and the operator sees the dead letter (README, "Parked events"). Holding back the rest of the conversation for good instead would cost every later
/// turn of it, and the log is still there to read it from.
/// </para>
/// </summary>
public sealed class IntegrationEventPublisher : SubscriptionBase
{
    public const int AttemptsAlone = 3;

    private readonly IBus _bus;
    private readonly IBusControl _control;
    private readonly IOptions<MessagingOptions> _options;
    private readonly ILogger<IntegrationEventPublisher> _logger;
    private readonly ParkedEventCounter _parked;

    public IntegrationEventPublisher(
        IBus bus, IBusControl control, IOptions<MessagingOptions> options, ILogger<IntegrationEventPublisher> logger,
        ParkedEventCounter parked)
    {
        (_bus, _control, _options, _logger, _parked) = (bus, control, options, logger, parked);
        Name = "integration_events";
    }

    public override async Task<IChangeListener> ProcessEventsAsync(
        EventRange page, ISubscriptionController controller, IDocumentOperations operations, CancellationToken cancellationToken)
    {
        try
        {
            await PublishAsync(page.Events, cancellationToken);
        }
        catch (Exception e) when (!BrokerFailures.IsTransient(e, _control) && !cancellationToken.IsCancellationRequested)
        {
            // Some event of the page cannot be published: each is tried alone, and the ones that keep failing are parked.
            foreach (var stored in page.Events)
            {
                await PublishAloneAsync(stored, controller, cancellationToken);
            }
        }
        return NullChangeListener.Instance;
    }

    private Task PublishAsync(IReadOnlyList<IEvent> events, CancellationToken cancellationToken)
    {
        // Conversations are independent, so they go out concurrently; inside one, each publish waits for the
        // previous confirm, which is what keeps a conversation's events in order on the exchange.
        var streams = events.GroupBy(e => (e.TenantId, StoredSummaries.SummaryStream.ConversationIdOf(e.StreamKey!))).ToArray();
        return BrokerTimeout.RunAsync(
            bounded => Parallel.ForEachAsync(
                streams,
                new ParallelOptions { MaxDegreeOfParallelism = _options.Value.PublishConcurrency, CancellationToken = bounded },
                async (stream, ct) =>
                {
                    foreach (var stored in stream)
                    {
                        await PublishOneAsync(stored, ct);
                    }
                }),
            _options.Value.PublishTimeout, cancellationToken);
    }

    private async Task PublishAloneAsync(IEvent stored, ISubscriptionController controller, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await BrokerTimeout.RunAsync(bounded => PublishOneAsync(stored, bounded), _options.Value.PublishTimeout, ct);
                return;
            }
            catch (Exception e) when (!BrokerFailures.IsTransient(e, _control) && !ct.IsCancellationRequested)
            {
                if (attempt == AttemptsAlone)
                {
                    await ParkedEvents.ParkAsync(controller, stored, e, _logger, _parked);
                    return;
                }
            }
        }
    }

    private async Task PublishOneAsync(IEvent stored, CancellationToken ct)
    {
        if (IntegrationEvents.From(stored) is not { } message)
        {
            return;
        }
        // In the trace of the request or consumer that appended the event; MassTransit's publish span and the
        // traceparent header it sends continue it.
        using var span = Telemetry.StartFrom("integration_events.publish", stored.CorrelationId);
        // WaitAsync: a publish caught in a dropped connection must not hold the daemon past the timeout.
        await _bus.Publish(message, message.GetType(),
            Pipe.Execute<PublishContext>(context =>
            {
                // The stored event id: subscribers can deduplicate redeliveries on MessageId.
                context.MessageId = stored.Id;
                context.Durable = true;
            }), ct).WaitAsync(ct);
    }
}

/// <summary>Stored event -> contract message. Pure; null for events that are not part of the public contract.</summary>
public static class IntegrationEvents
{
    public static object? From(IEvent e) => e.Data switch
    {
        Stored.ConversationStarted s => new Contracts.ConversationStarted(
            e.TenantId, e.StreamKey!, e.Version, e.Sequence, e.Timestamp, s.SystemPrompt, s.Model, s.Metadata),
        Stored.ConversationSettingsChanged c => new Contracts.ConversationSettingsChanged(
            e.TenantId, e.StreamKey!, e.Version, e.Sequence, e.Timestamp, c.SystemPrompt, c.Model, c.Metadata),
        Stored.TurnAppended t => new Contracts.TurnAppended(
            e.TenantId, e.StreamKey!, e.Version, e.Sequence, e.Timestamp, t.TurnId, t.Index, t.Role, t.Content, t.Name,
            t.OccurredAt, t.Tokens, t.Encoding, t.Metadata),
        StoredSummaries.ConversationSummarized s => new Contracts.ConversationSummarized(
            e.TenantId, StoredSummaries.SummaryStream.ConversationIdOf(e.StreamKey!), e.Version, e.Sequence, e.Timestamp, s.FromIndex, s.ThroughIndex, s.Summary,
            s.SummaryTokens, s.Model, s.Usage, s.CostUsd, s.Provisional, s.Truncated, s.Batched),
        // A deletion is also appended to the conversation's summary stream; subscribers hear of it once.
        Stored.ConversationDeleted when e.StreamKey == StoredSummaries.SummaryStream.ConversationIdOf(e.StreamKey!) =>
            new Contracts.ConversationDeleted(
            e.TenantId, e.StreamKey!, e.Version, e.Sequence, e.Timestamp),
        DailyBudgetReached b => new Contracts.DailyBudgetReached(e.TenantId, b.Day, b.Share, b.SpentUsd, b.BudgetUsd, e.Sequence, e.Timestamp),
        _ => null,
    };
}
