using ConversationService.Contracts;
using ConversationService.Hosting;
using ConversationService.Conversations;
using ConversationService.Messaging;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Subscriptions;
using MassTransit;
using Microsoft.Extensions.Options;
using ConversationDeleted = ConversationService.Conversations.ConversationDeleted;
using StoredTurnAppended = ConversationService.Conversations.TurnAppended;

namespace ConversationService.Summaries;

/// <summary>The index through which a summary was requested for a conversation (the trigger's memory across restarts).</summary>
public sealed class PendingSummary
{
    public string Id { get; set; } = "";
    public int ThroughIndex { get; set; }
}

/// <summary>
/// Decides from the event log, in Marten's async daemon (a subscription), when a conversation needs a new summary and
/// sends <see cref="SummarizeConversation"/>. Running there (not on the request) makes the command reliable: the
/// subscription's progress moves only after the broker confirmed the send. It remembers what it requested
/// (<see cref="PendingSummary"/>, committed with that progress), so while a summary is on its way further turns do not
/// send a second command for an overlapping range.
/// <para>
/// The turns not yet summarized or requested are kept in memory per conversation (<see cref="UncoveredTurns"/>): read
/// from the read model the first time a conversation shows up, then followed from the events, so a page costs no
/// query however long the conversations. A broker failure, or sends not confirmed within Messaging:PublishTimeout,
/// propagates: Marten pauses the subscription and restarts it from its last progress, so nothing is lost; the memory
/// is dropped then, as another replica may take over.
/// </para>
/// </summary>
public sealed class SummaryTrigger : SubscriptionBase
{
    private readonly IBus _bus;
    private readonly IEndpointNameFormatter _endpoints;
    private readonly IOptions<SummariesOptions> _options;
    private readonly IOptions<MessagingOptions> _messaging;
    private readonly TimeProvider _time;
    private readonly UncoveredTurns _uncovered = new();

    public SummaryTrigger(
        IBus bus, IEndpointNameFormatter endpoints, IOptions<SummariesOptions> options, IOptions<MessagingOptions> messaging,
        TimeProvider time)
    {
        (_bus, _endpoints, _options, _messaging, _time) = (bus, endpoints, options, messaging, time);
        Name = "summary_trigger";
        IncludeType<StoredTurnAppended>();
        IncludeType<ConversationSummarized>();
        IncludeType<ConversationDeleted>();
    }

    public override async Task<IChangeListener> ProcessEventsAsync(
        EventRange page, ISubscriptionController controller, IDocumentOperations operations, CancellationToken cancellationToken)
    {
        if (page.SequenceFloor != _ceiling)
        {
            // This replica did not handle the range before this page (it just started, took over from another replica,
            // or is replaying after a failure): what it remembers may be stale.
            _uncovered.Clear();
        }
        _ceiling = -1;
        await HandleAsync(page.Events, operations, cancellationToken);
        _ceiling = page.SequenceCeiling;
        return NullChangeListener.Instance;
    }

    private long _ceiling = -1;

    private async Task HandleAsync(IReadOnlyList<IEvent> events, IDocumentOperations operations, CancellationToken cancellationToken)
    {
        var touched = events.Where(e => e.Data is StoredTurnAppended).Select(e => (e.TenantId, e.StreamKey!)).Distinct().ToList();
        // A conversation first seen since start-up is read from the read model once, as it is now (this page's turns
        // included); from then on its turns come from the events alone.
        foreach (var conversation in touched.Where(c => !_uncovered.Knows(c)))
        {
            var (covered, turns) = await LoadAsync(operations.ForTenant(conversation.TenantId), conversation.Item2, cancellationToken);
            _uncovered.Load(conversation, covered, turns);
        }
        foreach (var e in events)
        {
            var conversation = (e.TenantId, SummaryStream.ConversationIdOf(e.StreamKey!));
            switch (e.Data)
            {
                case StoredTurnAppended turn:
                    _uncovered.Appended(conversation, turn.Index, turn.Tokens);
                    break;
                case ConversationSummarized summary:
                    _uncovered.Covered(conversation, summary.ThroughIndex);
                    break;
                case ConversationDeleted:
                    _uncovered.Forget(conversation);
                    break;
            }
        }
        var due = touched
            .Select(c => (Conversation: c, Through: SummaryDecisions.SummarizeThrough(
                _uncovered.Of(c), _options.Value.RecentWindowTokens, _options.Value.ThresholdTokens)))
            .Where(d => d.Through is not null)
            .Select(d => (d.Conversation.TenantId, ConversationId: d.Conversation.Item2, Through: d.Through!.Value))
            .ToList();
        if (due.Count == 0)
        {
            return;
        }
        // Conversations are independent, so their commands go out together; the requests are remembered with the
        // subscription's progress once every send was confirmed (a failed page is retried whole, and a repeated
        // command is harmless). A broker that does not confirm in time fails the page like one that is down.
        var now = _time.GetUtcNow();
        // Each command continues the trace of the conversation's latest append in the page.
        var traces = events.Where(e => e.Data is StoredTurnAppended)
            .GroupBy(e => (e.TenantId, e.StreamKey!))
            .ToDictionary(g => g.Key, g => g.Last().CorrelationId);
        await BrokerTimeout.RunAsync(async bounded =>
        {
            var queue = await _bus.SummaryQueueAsync(_endpoints);
            await Task.WhenAll(due.Select(async d =>
            {
                using var span = Telemetry.StartFrom("summary_trigger.send", traces.GetValueOrDefault((d.TenantId, d.ConversationId)));
                await queue.Send(new SummarizeConversation(d.TenantId, d.ConversationId, d.Through, now), bounded);
            }));
        }, _messaging.Value.PublishTimeout, cancellationToken);
        foreach (var (tenantId, conversationId, through) in due)
        {
            operations.ForTenant(tenantId).Store(new PendingSummary { Id = conversationId, ThroughIndex = through });
            _uncovered.Covered((tenantId, conversationId), through);
        }
    }

    /// <summary>The index through which the conversation is summarized or requested, and the turns after it.</summary>
    private static async Task<(int Covered, List<(int Index, int Tokens)> Turns)> LoadAsync(
        IQuerySession session, string conversationId, CancellationToken ct)
    {
        var batch = session.CreateBatchQuery();
        var conversationRead = batch.Load<ConversationView>(conversationId);
        var requestRead = batch.Load<PendingSummary>(conversationId);
        await batch.Execute(ct);
        var covered = Math.Max((await conversationRead)?.Summary?.ThroughIndex ?? 0, (await requestRead)?.ThroughIndex ?? 0);
        var turns = await session.Query<TurnView>()
            .Where(t => t.ConversationId == conversationId && t.Index > covered)
            .OrderBy(t => t.Index)
            .Select(t => new TurnCost(t.Index, t.Tokens))
            .ToListAsync(ct);
        return (covered, [.. turns.Select(t => (t.Index, t.Tokens))]);
    }

    private sealed record TurnCost(int Index, int Tokens);
}

/// <summary>
/// What the trigger knows of each conversation: the index through which it is summarized or requested, and the later
/// turns with their token counts, oldest first. Events are delivered at least once, so a turn at or below the last
/// index seen is ignored. Bounded by count: when full it starts over, which costs each conversation one read.
/// </summary>
internal sealed class UncoveredTurns
{
    private const int MaxConversations = 100_000;

    private sealed class Entry(int covered, List<(int Index, int Tokens)> turns)
    {
        public int Covered { get; set; } = covered;
        public List<(int Index, int Tokens)> Turns { get; } = turns;
        public int LastIndex { get; set; } = turns.Count > 0 ? Math.Max(covered, turns[^1].Index) : covered;
    }

    private readonly Dictionary<(string Tenant, string Conversation), Entry> _entries = [];

    public bool Knows((string, string) conversation) => _entries.ContainsKey(conversation);

    public void Load((string, string) conversation, int covered, List<(int Index, int Tokens)> turns)
    {
        if (_entries.Count >= MaxConversations)
        {
            _entries.Clear();
        }
        _entries[conversation] = new Entry(covered, turns);
    }

    public void Appended((string, string) conversation, int index, int tokens)
    {
        if (_entries.TryGetValue(conversation, out var entry) && index > entry.LastIndex)
        {
            entry.Turns.Add((index, tokens));
            entry.LastIndex = index;
        }
    }

    /// <summary>Turns through <paramref name="through"/> are summarized, or a summary of them was requested.</summary>
    public void Covered((string, string) conversation, int through)
    {
        if (_entries.TryGetValue(conversation, out var entry) && through > entry.Covered)
        {
            entry.Covered = through;
            entry.LastIndex = Math.Max(entry.LastIndex, through);
            entry.Turns.RemoveAll(t => t.Index <= through);
        }
    }

    public void Forget((string, string) conversation) => _entries.Remove(conversation);

    public void Clear() => _entries.Clear();

    public IReadOnlyList<(int Index, int Tokens)> Of((string, string) conversation) =>
        _entries.TryGetValue(conversation, out var entry) ? entry.Turns : [];
}
