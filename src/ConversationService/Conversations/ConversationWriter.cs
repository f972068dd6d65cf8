using System.Collections.Concurrent;
using ConversationService.Hosting;
using ConversationService.Storage;
using Marten;
using Microsoft.Extensions.Options;

namespace ConversationService.Conversations;

/// <summary>
/// The write edge shared by the use cases. Writes are optimistic: read the state the decision needs, decide, and
/// append only if the conversation is still at the version read (through the group commit); when it moved, read and
/// decide again. On one replica, writers of one conversation take turns (<see cref="LockAsync"/>), so they do not
/// make each other retry; across replicas the version check alone keeps them apart.
/// </summary>
public sealed class ConversationWriter(
    IDocumentStore store, GroupCommit commits, IOptions<ConversationsOptions> options, DeletedConversations deleted)
{
    /// <summary>How many times a write decides again because the conversation moved before it gives up (503).</summary>
    public const int MaxAttempts = 20;

    /// <summary>
    /// Before deciding again after attempt <paramref name="attempt"/> lost a race (1 and up): a random wait of up to
    /// 2^attempt ms (at most 64). Another replica's writers of the conversation follow each other without reading
    /// (they know the state their last append left), so one that reads again at once keeps losing to them while they
    /// have a queue; waiting a little lets that queue drain, at the cost of about a second in all before a 503.
    /// </summary>
    public static Task BackOffAsync(int attempt, CancellationToken ct) =>
        attempt < 1 ? Task.CompletedTask : Task.Delay(Random.Shared.Next(1 + (1 << Math.Min(attempt, 6))), ct);

    public string DefaultModel => options.Value.DefaultModel;

    // What this replica's own last append left each conversation at. Bounded by count, not recency: when full it
    // starts over, which costs each conversation one read.
    private const int MaxKnownStates = 100_000;
    private readonly ConcurrentDictionary<(string Tenant, string Id), ConversationState> _known = new();

    // Striped: conversations that share a stripe take turns too, which costs nothing unless both are written at once.
    private readonly SemaphoreSlim[] _stripes = [.. Enumerable.Range(0, 1024).Select(_ => new SemaphoreSlim(1, 1))];

    /// <summary>Serializes this replica's writers of one conversation; dispose the result to let the next one in.</summary>
    public async Task<IDisposable> LockAsync(string tenant, string conversationId, CancellationToken ct)
    {
        var stripe = _stripes[(int)((uint)HashCode.Combine(tenant, conversationId) % (uint)_stripes.Length)];
        await stripe.WaitAsync(ct);
        return new Release(stripe);
    }

    private sealed class Release(SemaphoreSlim stripe) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                stripe.Release();
            }
        }
    }

    /// <summary>The state this replica's last append left the conversation in; it may be stale (another writer).</summary>
    public ConversationState? KnownState(string tenant, string conversationId) =>
        _known.TryGetValue((tenant, conversationId), out var state) ? state : null;

    /// <summary>Drops the known state (it holds the system prompt and metadata): the conversation was deleted.</summary>
    public void Forget(string tenant, string conversationId) => _known.TryRemove((tenant, conversationId), out _);

    /// <summary>
    /// The conversation's state and which of <paramref name="turnIds"/> are stored (one round trip); the stream's
    /// state is read too only when there is no document, to tell a new conversation from a deleted one.
    /// </summary>
    public async Task<(ConversationState State, IReadOnlyDictionary<string, TurnRow> StoredTurns)> ReadAsync(
        string tenant, string conversationId, string[] turnIds, CancellationToken ct)
    {
        // Whatever this write does, the known state is no longer the latest; an append records the new one.
        _known.TryRemove((tenant, conversationId), out _);
        await using var session = store.QuerySession(tenant);
        var (view, storedTurns) = await ReadDocumentsAsync(session, conversationId, turnIds, ct);
        if (view is null)
        {
            // The document is written with the stream's first event and deleted only with the conversation. Each read
            // sees what was committed when it ran, so a conversation another writer created between the two reads has
            // a stream but, in the first read, no document: it is read again, and only a stream that existed before a
            // read without a document is a deleted conversation's.
            var stream = await session.Events.FetchStreamStateAsync(conversationId, ct);
            if (stream is not null)
            {
                (view, storedTurns) = await ReadDocumentsAsync(session, conversationId, turnIds, ct);
            }
            if (view is null)
            {
                return (new ConversationState(false, stream is not null, stream?.Version ?? 0, DefaultModel, null, null, 0),
                    new Dictionary<string, TurnRow>());
            }
        }
        return (new ConversationState(true, false, view.Version, view.Model, view.SystemPrompt, view.Metadata, view.TurnCount),
            storedTurns.ToDictionary(t => t.Id, StringComparer.Ordinal));
    }

    private static async Task<(ConversationView? View, IEnumerable<TurnRow> StoredTurns)> ReadDocumentsAsync(
        IQuerySession session, string conversationId, string[] turnIds, CancellationToken ct)
    {
        var batch = session.CreateBatchQuery();
        var viewRead = batch.Load<ConversationView>(conversationId);
        var turnsRead = turnIds.Length == 0
            ? null
            : batch.Query<TurnView>().Where(t => t.ConversationId == conversationId && turnIds.Contains(t.TurnId)).ToList();
        await batch.Execute(ct);
        return (await viewRead, turnsRead is null ? [] : (await turnsRead).Select(TurnRow.From));
    }

    /// <summary>
    /// Appends (sharing a commit with concurrent appends) if the conversation is still at <paramref name="version"/>;
    /// false (nothing stored) when it moved. <paramref name="next"/> is the state the append leaves, remembered as the
    /// known state when given (appends of turns, whose next state follows from the decision).
    /// </summary>
    public async Task<bool> TryAppendAsync(
        string tenant, string conversationId, long version, IReadOnlyList<object> events, ConversationState? next,
        CancellationToken ct)
    {
        bool stored;
        try
        {
            stored = await commits.AppendAsync(new StreamAppend(tenant, conversationId, version, events), ct);
        }
        catch
        {
            _known.TryRemove((tenant, conversationId), out _);
            throw;
        }
        if (!stored || next is null || deleted.Contains(tenant, conversationId))
        {
            _known.TryRemove((tenant, conversationId), out _);
            return stored;
        }
        if (_known.Count >= MaxKnownStates)
        {
            _known.Clear();
        }
        _known[(tenant, conversationId)] = next;
        return true;
    }
}
