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
        var queue = await bus.GetSendEndpoint(new Uri($"queue:{endpoints.Consumer<SummarizeConversationConsumer>()}"));
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        foreach (var (tenant, conversationId) in touched)
        {
            var uncovered = await UncoveredTurnsAsync(connection, tenant, conversationId, cancellationToken);
            if (SummaryDecisions.SummarizeThrough(uncovered, options.Value.RecentWindowTokens, options.Value.ThresholdTokens)
                is not { } through)
            {
                continue;
            }
            await queue.Send(new SummarizeConversation(tenant, conversationId, through, time.GetUtcNow()), cancellationToken);
            await RememberAsync(connection, tenant, conversationId, through, cancellationToken);
        }
    }

    /// <summary>Turns after both the stored summary and the last request, with their token counts.</summary>
    private async Task<List<(int Index, int Tokens)>> UncoveredTurnsAsync(
        NpgsqlConnection connection, string tenant, string conversationId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            SELECT t.idx, t.tokens FROM {schema.Name}.turns t
            WHERE t.tenant_id = $1 AND t.conversation_id = $2
              AND t.idx > GREATEST(
                  COALESCE((SELECT through_index FROM {schema.Name}.conversation_summaries
                            WHERE tenant_id = $1 AND conversation_id = $2), 0),
                  COALESCE((SELECT through_index FROM {schema.Name}.summary_requests
                            WHERE tenant_id = $1 AND conversation_id = $2), 0))
            ORDER BY t.idx
            """, connection);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = conversationId });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var turns = new List<(int, int)>();
        while (await reader.ReadAsync(ct))
        {
            turns.Add((reader.GetInt32(0), reader.GetInt32(1)));
        }
        return turns;
    }

    private async Task RememberAsync(NpgsqlConnection connection, string tenant, string conversationId, int through, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            INSERT INTO {schema.Name}.summary_requests AS r (tenant_id, conversation_id, through_index) VALUES ($1, $2, $3)
            ON CONFLICT (tenant_id, conversation_id) DO UPDATE SET through_index = GREATEST(r.through_index, excluded.through_index)
            """, connection);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = conversationId });
        command.Parameters.Add(new() { Value = through });
        await command.ExecuteNonQueryAsync(ct);
    }
}
