using Marten;

namespace ConversationService.Conversations;

/// <summary>
/// An async projection that <c>indexedVersion</c> waits for (a retrieval index), named as registered with Marten;
/// <paramref name="Runs"/> is false when this host's configuration leaves it out (the embedding projection offline).
/// </summary>
public sealed record IndexingProjection(string Name, bool Runs = true);

/// <summary>
/// <c>indexedVersion</c> of GET /conversations/{id}: the highest version of the conversation that every
/// <see cref="IndexingProjection"/> has processed; the conversation's version when there is none (nothing is indexed
/// asynchronously, as with the offline embedder).
/// </summary>
public sealed class IndexedVersions(IDocumentStore store, IEnumerable<IndexingProjection> projections)
{
    private readonly string[] _shards = [.. projections.Where(p => p.Runs).Select(p => p.Name + ":")];

    public async Task<long> GetAsync(string tenant, string conversationId, long version, CancellationToken ct)
    {
        if (_shards.Length == 0)
        {
            return version;
        }
        var progress = await store.Advanced.AllProjectionProgress(token: ct);
        var floor = _shards
            .Select(shard => progress.Where(p => p.ShardName.StartsWith(shard, StringComparison.Ordinal)).Select(p => p.Sequence).DefaultIfEmpty(0).Max())
            .Min();
        await using var session = store.QuerySession(tenant);
        var indexed = await session.Events.QueryAllRawEvents()
            .Where(e => e.StreamKey == conversationId && e.Sequence <= floor)
            .OrderByDescending(e => e.Version)
            .Select(e => e.Version)
            .FirstOrDefaultAsync(ct);
        return Math.Min(indexed, version);
    }
}
