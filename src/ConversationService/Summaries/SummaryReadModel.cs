using ConversationService.Conversations;
using ConversationService.EventStore;
using ConversationService.Hosting;
using Npgsql;

namespace ConversationService.Summaries;

/// <summary>The current rolling summary of a conversation.</summary>
public sealed record CurrentSummary(int ThroughIndex, string Text, int Tokens, string Encoding);

/// <summary>
/// Latest summary per conversation (from its summary stream), kept inline with the append. An older range never
/// overwrites a newer one; a summary of a deleted conversation is never stored, and deletion removes the text.
/// </summary>
public sealed class SummaryProjection : IInlineProjection
{
    public string Ddl(string schema) => $"""
        CREATE TABLE IF NOT EXISTS {schema}.conversation_summaries (
            tenant_id       text    NOT NULL,
            conversation_id text    NOT NULL,
            through_index   integer NOT NULL,
            summary         text    NOT NULL,
            summary_tokens  integer NOT NULL,
            encoding        text    NOT NULL,
            model           text    NOT NULL,
            version         bigint  NOT NULL,
            PRIMARY KEY (tenant_id, conversation_id));
        """;

    public void Apply(InlineBatch batch, IReadOnlyList<StoredEvent> events)
    {
        foreach (var stored in events)
        {
            switch (stored.Data)
            {
                case ConversationSummarized s:
                    batch.Add(
                        $"""
                        INSERT INTO {batch.Schema}.conversation_summaries AS cs
                            (tenant_id, conversation_id, through_index, summary, summary_tokens, encoding, model, version)
                        SELECT $1, $2, $3, $4, $5, $6, $7, $8
                        WHERE EXISTS (SELECT 1 FROM {batch.Schema}.conversations WHERE tenant_id = $1 AND id = $2)
                        ON CONFLICT (tenant_id, conversation_id) DO UPDATE
                        SET through_index = excluded.through_index, summary = excluded.summary,
                            summary_tokens = excluded.summary_tokens, encoding = excluded.encoding,
                            model = excluded.model, version = excluded.version
                        WHERE cs.through_index < excluded.through_index
                        """,
                        batch.TenantId, SummaryStream.ConversationIdOf(batch.StreamId), s.ThroughIndex, s.Summary,
                        s.SummaryTokens, s.Encoding, s.Model,
                        stored.Version);
                    break;
                case ConversationDeleted:
                    batch.Add(
                        $"DELETE FROM {batch.Schema}.conversation_summaries WHERE tenant_id = $1 AND conversation_id = $2",
                        batch.TenantId, batch.StreamId);
                    break;
            }
        }
    }
}

/// <summary>Tenant-scoped reads of <see cref="SummaryProjection"/>.</summary>
public sealed class SummaryQueries(NpgsqlDataSource dataSource, DatabaseSchema schema)
{
    public async Task<CurrentSummary?> GetAsync(string tenant, string conversationId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        return await GetAsync(connection, null, tenant, conversationId, ct);
    }

    /// <summary>Inside a write session, so the answer holds until it commits.</summary>
    public async Task<CurrentSummary?> GetAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string tenant, string conversationId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(Sql(schema.Name), connection, transaction);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = conversationId });
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await ReadAsync(reader, ct);
    }

    /// <summary>The same read as one command of a caller's batch (the context path saves a round trip with it).</summary>
    public static NpgsqlBatchCommand BatchCommand(string schemaName, string tenant, string conversationId) =>
        new(Sql(schemaName)) { Parameters = { new() { Value = tenant }, new() { Value = conversationId } } };

    public static async Task<CurrentSummary?> ReadAsync(NpgsqlDataReader reader, CancellationToken ct) =>
        await reader.ReadAsync(ct)
            ? new CurrentSummary(reader.GetInt32(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3))
            : null;

    private static string Sql(string schemaName) => $"""
        SELECT through_index, summary, summary_tokens, encoding FROM {schemaName}.conversation_summaries
        WHERE tenant_id = $1 AND conversation_id = $2
        """;
}
