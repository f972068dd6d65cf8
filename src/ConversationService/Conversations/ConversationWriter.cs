using ConversationService.EventStore;
using ConversationService.Hosting;
using Microsoft.Extensions.Options;

namespace ConversationService.Conversations;

/// <summary>
/// The write edge shared by the use cases: lock the stream, read the state the decision needs inside that
/// transaction, and hand back the session to append with. Concurrent writers queue on the stream lock.
/// </summary>
public sealed class ConversationWriter(
    EventStore.EventStore store, ConversationQueries queries, IOptions<ConversationsOptions> options)
{
    public string DefaultModel => options.Value.DefaultModel;

    public async Task<(StreamWriteSession Session, ConversationState State)> OpenAsync(
        string tenant, string conversationId, CancellationToken ct)
    {
        var session = await store.OpenForWritingAsync(tenant, conversationId, ConversationStream.Type, ct);
        try
        {
            var row = session.IsNew
                ? null
                : await queries.GetConversationAsync(session.Connection, session.Transaction, tenant, conversationId, ct);
            var state = new ConversationState(
                Exists: row is not null,
                Archived: session.IsArchived,
                Version: session.Version,
                Model: row?.Model ?? DefaultModel,
                SystemPrompt: row?.SystemPrompt,
                Metadata: row?.Metadata,
                TurnCount: row?.TurnCount ?? 0);
            return (session, state);
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }
}
