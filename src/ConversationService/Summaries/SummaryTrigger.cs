using ConversationService.Contracts;
using ConversationService.EventStore;
using ConversationService.Hosting;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using StoredTurnAppended = ConversationService.Conversations.TurnAppended;

namespace ConversationService.Summaries;

/// <summary>
/// Decides from the event log, in the daemon, when a conversation needs a new summary and sends
/// <see cref="SummarizeConversation"/>. Running in the daemon (not on the request) makes the command reliable: the
/// checkpoint moves only after the broker confirmed the send. It remembers what it requested, so while a summary
/// is on its way further turns do not send a second command for an overlapping range.
/// </summary>
public sealed class SummaryTrigger(
    IBus bus, IEndpointNameFormatter endpoints, NpgsqlDataSource dataSource, DatabaseSchema schema,
    IOptions<SummariesOptions> options, TimeProvider time) : IAsyncProjection
{
    public string Name => "summary_trigger";

    public bool TracksIndexedVersion => false;

    public string Ddl(string schema) => $"""
        CREATE TABLE IF NOT EXISTS {schema}.summary_requests (
            tenant_id       text    NOT NULL,
            conversation_id text    NOT NULL,
            through_index   integer NOT NULL,
            PRIMARY KEY (tenant_id, conversation_id));
        """;

    public async Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken)
    {
        var touched = events.Where(e => e.Data is StoredTurnAppended).Select(e => (e.TenantId, e.StreamId)).Distinct().ToList();
        if (touched.Count == 0)
        {
            return;
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var uncovered = await UncoveredTurnsAsync(connection, touched, cancellationToken);
        var due = touched
            .Select(c => (Conversation: c, Through: SummaryDecisions.SummarizeThrough(
                uncovered.GetValueOrDefault(c) ?? [], options.Value.RecentWindowTokens, options.Value.ThresholdTokens)))
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
        await RememberAsync(connection, due, cancellationToken);
    }

    /// <summary>
    /// For every touched conversation at once, the turns after both the stored summary and the last request, with
    /// their token counts, oldest first. One round trip per daemon batch, however many conversations it touched.
    /// </summary>
    private async Task<Dictionary<(string, string), List<(int Index, int Tokens)>>> UncoveredTurnsAsync(
        NpgsqlConnection connection, List<(string TenantId, string StreamId)> conversations, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            SELECT c.tenant_id, c.conversation_id, t.idx, t.tokens
            FROM unnest($1::text[], $2::text[]) AS c(tenant_id, conversation_id)
            CROSS JOIN LATERAL (
                SELECT idx, tokens FROM {schema.Name}.turns t
                WHERE t.tenant_id = c.tenant_id AND t.conversation_id = c.conversation_id
                  AND t.idx > GREATEST(
                      COALESCE((SELECT through_index FROM {schema.Name}.conversation_summaries s
                                WHERE s.tenant_id = c.tenant_id AND s.conversation_id = c.conversation_id), 0),
                      COALESCE((SELECT through_index FROM {schema.Name}.summary_requests r
                                WHERE r.tenant_id = c.tenant_id AND r.conversation_id = c.conversation_id), 0))
                -- The ORDER BY keeps this a per-conversation index range scan: a join the planner could flatten
                -- into would, with the prepared (generic) plan, scan every turn of every conversation instead.
                ORDER BY idx) t
            """, connection);
        command.Parameters.Add(new() { Value = conversations.Select(c => c.TenantId).ToArray() });
        command.Parameters.Add(new() { Value = conversations.Select(c => c.StreamId).ToArray() });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var turns = new Dictionary<(string, string), List<(int, int)>>();
        while (await reader.ReadAsync(ct))
        {
            var key = (reader.GetString(0), reader.GetString(1));
            if (!turns.TryGetValue(key, out var list))
            {
                turns[key] = list = [];
            }
            list.Add((reader.GetInt32(2), reader.GetInt32(3)));
        }
        return turns;
    }

    private async Task RememberAsync(
        NpgsqlConnection connection, List<(string TenantId, string ConversationId, int Through)> requests, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            INSERT INTO {schema.Name}.summary_requests AS r (tenant_id, conversation_id, through_index)
            SELECT * FROM unnest($1::text[], $2::text[], $3::integer[])
            ON CONFLICT (tenant_id, conversation_id) DO UPDATE SET through_index = GREATEST(r.through_index, excluded.through_index)
            """, connection);
        command.Parameters.Add(new() { Value = requests.Select(r => r.TenantId).ToArray() });
        command.Parameters.Add(new() { Value = requests.Select(r => r.ConversationId).ToArray() });
        command.Parameters.Add(new() { Value = requests.Select(r => r.Through).ToArray() });
        await command.ExecuteNonQueryAsync(ct);
    }
}
