using ConversationService.Knowledge;
using ConversationService.Relevance;

namespace ConversationService.Context;

/// <summary>
/// What ranking needs of a knowledge collection (chunk texts, vectors, BM25 postings), held in the
/// <see cref="LibraryCache"/>: a context request that names collections reads one version row each instead of every
/// chunk, and embeds nothing. A collection is read again when its version moved (a document put or deleted through
/// any replica). With a provider, a collection whose chunks are not all embedded yet is not kept: it is read on each
/// request until the embedding projection has caught up, and ranked lexically where a vector is missing.
/// </summary>
public sealed class KnowledgeIndexCache(KnowledgeQueries queries, ContextVectors vectors, LibraryCache cache)
{
    /// <summary>The chunks of the named collections, collection by collection (ordinal), each in document and chunk order.</summary>
    public async Task<KnowledgeSet> GetAsync(string tenant, IReadOnlyList<string> collections, CancellationToken ct)
    {
        var names = collections.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (names.Length == 0)
        {
            return KnowledgeSet.Empty;
        }
        var versions = await queries.GetCollectionVersionsAsync(tenant, names, ct);
        var held = new Dictionary<string, KnowledgeSet>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (cache.TryGet(("knowledge", tenant, name), versions.GetValueOrDefault(name), out KnowledgeSet set))
            {
                held[name] = set;
            }
        }
        var stale = names.Where(n => !held.ContainsKey(n)).ToArray();
        if (stale.Length > 0)
        {
            var chunks = await queries.GetChunksAsync(tenant, stale, ct);
            var found = await vectors.ForAsync(tenant, chunks.Select(c => c.Text).ToArray(), ct);
            foreach (var name in stale)
            {
                KnowledgeItem[] items = [.. chunks.Select((c, i) => (Chunk: c, Vector: found[i]))
                    .Where(c => c.Chunk.Collection == name)
                    .Select(c => new KnowledgeItem(c.Chunk.Id, c.Chunk.Text, c.Vector))];
                var set = KnowledgeSet.Of(items);
                held[name] = set;
                cache.Keep(("knowledge", tenant, name), versions.GetValueOrDefault(name), set,
                    complete: items.All(i => i.Vector is not null), bytes: ApproximateBytes(set));
            }
        }
        return KnowledgeSet.Combine([.. names.Select(n => held[n])]);
    }

    /// <summary>Drops the collection's chunks: one of its documents was deleted.</summary>
    public void Forget(string tenant, string collection) => cache.Forget(key => key.Equals(("knowledge", tenant, collection)));

    /// <summary>Whether the collection is held, for tests.</summary>
    internal bool Holds(string tenant, string collection) => cache.Holds(key => key.Equals(("knowledge", tenant, collection)));

    /// <summary>The text twice (the string, and about as much again in its postings), the vector rows, and some overhead.</summary>
    private static long ApproximateBytes(KnowledgeSet set) =>
        1_024 + set.Vectors.Bytes + set.Items.Sum(i => 2 * LibraryCache.Bytes(i.Text) + 128);
}

/// <summary>
/// On every replica (see <see cref="Storage.IReplicaSubscription"/>), a deleted document's collection is dropped from
/// memory, so its text does not stay there until evicted.
/// </summary>
public sealed class KnowledgeEviction(KnowledgeIndexCache cache) : Storage.IReplicaSubscription
{

    public IReadOnlyCollection<Type> EventTypes => [typeof(DocumentDeleted)];

    public void Handle(IReadOnlyList<JasperFx.Events.IEvent> events)
    {
        foreach (var (tenant, collection) in events
                     .Select(e => (e.TenantId, Collection: (e.Data as DocumentDeleted)?.Collection))
                     .Where(d => d.Collection is not null).Distinct())
        {
            cache.Forget(tenant, collection!);
        }
    }
}
