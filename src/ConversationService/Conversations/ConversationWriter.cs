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

    /// <summary>The checks every write makes before taking the lock: a valid id and a parseable If-Match.</summary>
    public static IResult? CheckTarget(string id, string? ifMatch, out long? expectedVersion)
    {
        if (!ConversationDecisions.TryParseIfMatch(ifMatch, out expectedVersion))
        {
            return Problems.Invalid("If-Match", "If-Match must be a quoted version number, e.g. \"7\".");
        }
        return ConversationDecisions.IsValidTurnId(id)
            ? null
            : Problems.Invalid("id", "A conversation id is 1-128 characters of A-Z a-z 0-9 . _ : -");
    }

    /// <summary>
    /// The conversation row is read in the lock's round trip. Which of <paramref name="turnIds"/> are stored already
    /// costs one more, so appends ask for it only when they have to (see AppendTurns).
    /// </summary>
    public async Task<(StreamWriteSession Session, ConversationState State, IReadOnlyDictionary<string, TurnRow> StoredTurns)>
        OpenAsync(string tenant, string conversationId, string[] turnIds, CancellationToken ct)
    {
        var (session, row) = await store.OpenForWritingAsync(
            tenant, conversationId, ConversationStream.Type, queries.ConversationForWriteSql,
            ConversationQueries.ReadConversationAsync, ct);
        try
        {
            var storedTurns = row is null || turnIds.Length == 0
                ? []
                : await queries.GetTurnsByIdsAsync(session.Connection, session.Transaction, tenant, conversationId, turnIds, ct);
            var state = new ConversationState(
                Exists: row is not null,
                Archived: session.IsArchived,
                Version: session.Version,
                Model: row?.Model ?? DefaultModel,
                SystemPrompt: row?.SystemPrompt,
                Metadata: row?.Metadata,
                TurnCount: row?.TurnCount ?? 0);
            return (session, state, storedTurns.ToDictionary(t => t.Id, StringComparer.Ordinal));
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }
}
