using ConversationService.Conversations;
using Microsoft.Extensions.Caching.Memory;

namespace ConversationService.Context;

/// <summary>
/// Ranking state per conversation, bounded by the number of turns held. An entry is reused only for the same
/// tenant, conversation and creation time (a deleted and re-created conversation never sees the old content),
/// and grows by the turns appended since: a request after one new turn reads and indexes only that turn.
/// </summary>
public sealed class ConversationIndexCache(ConversationQueries queries, ContextVectors vectors, DeletedConversations deleted) : IDisposable
{
    public const int MaxTurnsHeld = 500_000;

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = MaxTurnsHeld });

    private sealed record Entry(DateTimeOffset CreatedAt, ConversationIndex Index);

    /// <summary>The index of exactly the turns in <paramref name="headers"/>; null when a turn vanished (deleted meanwhile).</summary>
    public async Task<ConversationIndex?> GetAsync(
        string tenant, ConversationRow conversation, IReadOnlyList<TurnHeader> headers, CancellationToken ct)
    {
        var key = (tenant, conversation.Id);
        var index = _cache.TryGetValue(key, out Entry? entry) && entry!.CreatedAt == conversation.CreatedAt
            && entry.Index.Turns.Count <= headers.Count && Matches(entry.Index, headers)
                ? entry.Index
                : ConversationIndex.Empty;
        if (index.Turns.Count == headers.Count)
        {
            return await FillVectorsAsync(tenant, key, conversation.CreatedAt, index, ct);
        }
        var after = index.Turns.Count == 0 ? int.MinValue : index.Turns[^1].Index;
        var rows = await queries.GetTurnsAsync(tenant, conversation.Id, after, headers[^1].Index, headers.Count - index.Turns.Count, ct);
        if (rows.Count != headers.Count - index.Turns.Count)
        {
            return null;
        }
        var turns = rows.Select(r => new IndexedTurn(r.Id, r.Index, r.Role, r.Name, r.Content, r.OccurredAt)).ToArray();
        index = index.Append(turns, await vectors.ForAsync(tenant, turns.Select(t => t.Content).ToArray(), ct));
        if (!Matches(index, headers))
        {
            return null;
        }
        Remember(key, conversation.CreatedAt, index);
        return index;
    }

    /// <summary>Turns the embedding projection had not reached when they were indexed get their vectors once it has.</summary>
    private async Task<ConversationIndex> FillVectorsAsync(
        string tenant, (string, string) key, DateTimeOffset createdAt, ConversationIndex index, CancellationToken ct)
    {
        var missing = vectors.Stored ? index.MissingVectors() : [];
        if (missing.Length == 0)
        {
            return index;
        }
        var found = await vectors.ForAsync(tenant, missing.Select(i => index.Turns[i].Content).ToArray(), ct);
        if (found.All(v => v is null))
        {
            return index;
        }
        index = index.WithVectors(missing, found);
        Remember(key, createdAt, index);
        return index;
    }

    private void Remember((string Tenant, string Id) key, DateTimeOffset createdAt, ConversationIndex index)
    {
        if (!deleted.Contains(key.Tenant, key.Id))
        {
            _cache.Set(key, new Entry(createdAt, index), new MemoryCacheEntryOptions { Size = Math.Max(1, index.Turns.Count) });
        }
    }

    /// <summary>Drops the conversation's index (its turns' content): it was deleted.</summary>
    public void Forget(string tenant, string id) => _cache.Remove((tenant, id));

    /// <summary>Whether an index of the conversation is held, for tests.</summary>
    internal bool Holds(string tenant, string id) => _cache.TryGetValue((tenant, id), out _);

    private static bool Matches(ConversationIndex index, IReadOnlyList<TurnHeader> headers) =>
        index.Turns.Count == 0 || headers[index.Turns.Count - 1].Id == index.Turns[^1].Id;

    public void Dispose() => _cache.Dispose();
}
