using ConversationService.Conversations;
using ConversationService.Relevance;
using Microsoft.Extensions.Caching.Memory;

namespace ConversationService.Context;

/// <summary>
/// Ranking state per conversation, bounded by the number of turns held. An entry is reused only for the same
/// tenant, conversation and creation time (a deleted and re-created conversation never sees the old content),
/// and grows by the turns appended since: a request after one new turn reads and indexes only that turn.
/// </summary>
public sealed class ConversationIndexCache(ConversationQueries queries, LexicalEmbeddingGenerator embedder) : IDisposable
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
            return index;
        }
        var after = index.Turns.Count == 0 ? int.MinValue : index.Turns[^1].Index;
        var rows = await queries.GetTurnsAsync(tenant, conversation.Id, after, headers[^1].Index, headers.Count - index.Turns.Count, ct);
        if (rows.Count != headers.Count - index.Turns.Count)
        {
            return null;
        }
        var turns = rows.Select(r => new IndexedTurn(r.Id, r.Index, r.Role, r.Name, r.Content, r.OccurredAt)).ToArray();
        index = index.Append(turns, turns.Select(t => (float[]?)embedder.Embed(t.Content)).ToArray());
        if (!Matches(index, headers))
        {
            return null;
        }
        _cache.Set(key, new Entry(conversation.CreatedAt, index), new MemoryCacheEntryOptions { Size = Math.Max(1, index.Turns.Count) });
        return index;
    }

    private static bool Matches(ConversationIndex index, IReadOnlyList<TurnHeader> headers) =>
        index.Turns.Count == 0 || headers[index.Turns.Count - 1].Id == index.Turns[^1].Id;

    public void Dispose() => _cache.Dispose();
}
