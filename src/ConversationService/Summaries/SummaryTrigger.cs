using ConversationService.Contracts;
using ConversationService.EventStore;
using ConversationService.Hosting;
using ConversationService.Messaging;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using ConversationDeleted = ConversationService.Conversations.ConversationDeleted;
using StoredTurnAppended = ConversationService.Conversations.TurnAppended;

namespace ConversationService.Summaries;

/// <summary>
/// Decides from the event log, in the daemon, when a conversation needs a new summary and sends
/// <see cref="SummarizeConversation"/>. Running in the daemon (not on the request) makes the command reliable: the
/// checkpoint moves only after the broker confirmed the send. It remembers what it requested, so while a summary
/// is on its way further turns do not send a second command for an overlapping range.
/// <para>
/// The turns not yet summarized or requested are kept in memory per conversation (<see cref="UncoveredTurns"/>): read
/// from the read model the first time a conversation shows up, then followed from the events, so a batch costs no
/// query however long the conversations.
/// </para>
/// </summary>
public sealed class SummaryTrigger(
    IBus bus, IBusControl control, IEndpointNameFormatter endpoints, NpgsqlDataSource dataSource, DatabaseSchema schema,
    IOptions<SummariesOptions> options, TimeProvider time) : IAsyncProjection
{
    public string Name => "summary_trigger";

    public bool TracksIndexedVersion => false;

    public bool IsTransient(Exception exception) => BrokerFailures.IsTransient(exception, control);

    public string Ddl(string schema) => $"""
        CREATE TABLE IF NOT EXISTS {schema}.summary_requests (
            tenant_id       text    NOT NULL,
            conversation_id text    NOT NULL,
            through_index   integer NOT NULL,
            PRIMARY KEY (tenant_id, conversation_id));
        """;

    private readonly UncoveredTurns _uncovered = new();

    // This replica may have missed events while another one held the projection.
    public void Started() => _uncovered.Clear();

    public async Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken)
    {
        var touched = events.Where(e => e.Data is StoredTurnAppended).Select(e => (e.TenantId, e.StreamId)).Distinct().ToList();
        if (touched.Count == 0 && !events.Any(e => e.Data is ConversationSummarized or ConversationDeleted))
        {
            return;
        }
        // A conversation first seen since start-up is read from the read model once, as it is now (this batch's turns
        // included); from then on its turns come from the events alone.
        var unknown = touched.Where(c => !_uncovered.Knows(c)).ToList();
        if (unknown.Count > 0)
        {
            foreach (var (conversation, covered, turns) in await LoadAsync(unknown, cancellationToken))
            {
                _uncovered.Load(conversation, covered, turns);
            }
        }
        foreach (var e in events)
        {
            var conversation = (e.TenantId, SummaryStream.ConversationIdOf(e.StreamId));
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
                _uncovered.Of(c), options.Value.RecentWindowTokens, options.Value.ThresholdTokens)))
            .Where(d => d.Through is not null)
            .Select(d => (d.Conversation.TenantId, ConversationId: d.Conversation.StreamId, Through: d.Through!.Value))
            .ToList();
        if (due.Count == 0)
        {
            return;
        }
        // Conversations are independent, so their commands go out together; the requests are remembered once every
        // send was confirmed (a failed batch is retried whole, and a repeated command is harmless).
        var queue = await bus.GetSendEndpoint(new Uri($"queue:{endpoints.Consumer<SummarizeConversationConsumer>()}"));
        var now = time.GetUtcNow();
        await Task.WhenAll(due.Select(d => queue.Send(new SummarizeConversation(d.TenantId, d.ConversationId, d.Through, now), cancellationToken)));
        await RememberAsync(due, cancellationToken);
        foreach (var (tenantId, conversationId, through) in due)
        {
            _uncovered.Covered((tenantId, conversationId), through);
        }
    }

    /// <summary>
    /// For each conversation at once, the index through which it is summarized or requested, and the turns after it
    /// with their token counts, oldest first. One round trip, however many conversations.
    /// </summary>
    private async Task<List<((string, string) Conversation, int Covered, List<(int Index, int Tokens)> Turns)>> LoadAsync(
        List<(string TenantId, string StreamId)> conversations, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT c.tenant_id, c.conversation_id, c.covered, t.idx, t.tokens
            FROM (SELECT u.tenant_id, u.conversation_id, GREATEST(
                      COALESCE((SELECT through_index FROM {schema.Name}.conversation_summaries s
                                WHERE s.tenant_id = u.tenant_id AND s.conversation_id = u.conversation_id), 0),
                      COALESCE((SELECT through_index FROM {schema.Name}.summary_requests r
                                WHERE r.tenant_id = u.tenant_id AND r.conversation_id = u.conversation_id), 0)) AS covered
                  FROM unnest($1::text[], $2::text[]) AS u(tenant_id, conversation_id)) c
            LEFT JOIN LATERAL (
                SELECT idx, tokens FROM {schema.Name}.turns t
                WHERE t.tenant_id = c.tenant_id AND t.conversation_id = c.conversation_id AND t.idx > c.covered
                -- The ORDER BY keeps this a per-conversation index range scan: a join the planner could flatten
                -- into would, with the prepared (generic) plan, scan every turn of every conversation instead.
                ORDER BY idx) t ON true
            """);
        command.Parameters.Add(new() { Value = conversations.Select(c => c.TenantId).ToArray() });
        command.Parameters.Add(new() { Value = conversations.Select(c => c.StreamId).ToArray() });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var loaded = new Dictionary<(string, string), (int Covered, List<(int, int)> Turns)>();
        while (await reader.ReadAsync(ct))
        {
            var key = (reader.GetString(0), reader.GetString(1));
            if (!loaded.TryGetValue(key, out var entry))
            {
                loaded[key] = entry = (reader.GetInt32(2), []);
            }
            if (!reader.IsDBNull(3))
            {
                entry.Turns.Add((reader.GetInt32(3), reader.GetInt32(4)));
            }
        }
        return [.. loaded.Select(l => (l.Key, l.Value.Covered, l.Value.Turns))];
    }

    private async Task RememberAsync(
        List<(string TenantId, string ConversationId, int Through)> requests, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            INSERT INTO {schema.Name}.summary_requests AS r (tenant_id, conversation_id, through_index)
            SELECT * FROM unnest($1::text[], $2::text[], $3::integer[])
            ON CONFLICT (tenant_id, conversation_id) DO UPDATE SET through_index = GREATEST(r.through_index, excluded.through_index)
            """);
        command.Parameters.Add(new() { Value = requests.Select(r => r.TenantId).ToArray() });
        command.Parameters.Add(new() { Value = requests.Select(r => r.ConversationId).ToArray() });
        command.Parameters.Add(new() { Value = requests.Select(r => r.Through).ToArray() });
        await command.ExecuteNonQueryAsync(ct);
    }
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
