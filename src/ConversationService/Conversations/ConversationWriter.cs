using ConversationService.EventStore;
using ConversationService.Hosting;
using Microsoft.Extensions.Options;

namespace ConversationService.Conversations;

/// <summary>
/// The write edge shared by the use cases: lock the stream, read the state the decision needs inside that
/// transaction, and hand back the session to append with. Concurrent writers queue on the stream lock.
/// </summary>
public sealed class ConversationWriter(
    EventStore.EventStore store, ConversationQueries queries, IOptions<ConversationsOptions> options, DeletedConversations deleted)
{
    public string DefaultModel => options.Value.DefaultModel;

    /// <summary>The check every write makes before taking the lock: a parseable If-Match (the id is checked by the route group).</summary>
    public static IResult? CheckIfMatch(string? ifMatch, out long? expectedVersion) =>
        ConversationDecisions.TryParseIfMatch(ifMatch, out expectedVersion)
            ? null
            : Problems.Invalid("If-Match", "If-Match must be a quoted version number, e.g. \"7\".");

    // What this replica's own last append left each conversation at. Bounded by count, not recency: when full it
    // starts over, which costs each conversation one ordinary append.
    private const int MaxKnownStates = 100_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Tenant, string Id), ConversationState> _known = new();

    /// <summary>The state this replica's last append left the conversation in; it may be stale (another writer).</summary>
    public ConversationState? KnownState(string tenant, string conversationId) =>
        _known.TryGetValue((tenant, conversationId), out var state) ? state : null;

    /// <summary>Records the state after an append of <paramref name="turns"/> turns committed at <paramref name="version"/>.</summary>
    public void Appended(string tenant, string conversationId, ConversationState before, long version, int turns)
    {
        if (deleted.Contains(tenant, conversationId))
        {
            return;
        }
        if (_known.Count >= MaxKnownStates)
        {
            _known.Clear();
        }
        _known[(tenant, conversationId)] = before with { Exists = true, Version = version, TurnCount = before.TurnCount + turns };
    }

    /// <summary>Drops the known state (it holds the system prompt and metadata): the conversation was deleted.</summary>
    public void Forget(string tenant, string conversationId) => _known.TryRemove((tenant, conversationId), out _);

    /// <summary>
    /// Appends in one round trip when the conversation is still where <see cref="KnownState"/> says; null (nothing
    /// stored, the known state dropped) when it moved, so the caller decides again under the lock.
    /// </summary>
    public async Task<IReadOnlyList<StoredEvent>?> TryAppendAtKnownStateAsync(
        string tenant, string conversationId, ConversationState known, IReadOnlyList<object> events, CancellationToken ct)
    {
        try
        {
            if (await store.TryAppendAtVersionAsync(tenant, conversationId, known.Version, events, ct) is { } stored)
            {
                return stored;
            }
        }
        catch
        {
            _known.TryRemove((tenant, conversationId), out _);
            throw;
        }
        _known.TryRemove((tenant, conversationId), out _);
        return null;
    }

    /// <summary>
    /// The conversation row is read in the lock's round trip. Which of <paramref name="turnIds"/> are stored already
    /// costs one more, so appends ask for it only when they have to (see AppendTurns).
    /// </summary>
    public async Task<(StreamWriteSession Session, ConversationState State, IReadOnlyDictionary<string, TurnRow> StoredTurns)>
        OpenAsync(string tenant, string conversationId, string[] turnIds, CancellationToken ct)
    {
        // Whatever this write does, the known state is no longer the latest; an append records the new one.
        _known.TryRemove((tenant, conversationId), out _);
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
