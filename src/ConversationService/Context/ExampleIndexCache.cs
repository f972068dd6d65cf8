using ConversationService.Examples;
using Microsoft.Extensions.Caching.Memory;

namespace ConversationService.Context;

/// <summary>
/// A tenant's few-shot examples with their vectors, per task, held in the <see cref="LibraryCache"/>: a context request
/// that asks for examples reads the tenant's library version instead of every example, and embeds none. Any example
/// put or deleted (through any replica) moves the version, and the examples are read again. With a provider, examples
/// not all embedded yet are not kept (read on each request until the embedding projection has caught up).
/// </summary>
public sealed class ExampleIndexCache(ExampleQueries queries, ContextVectors vectors, LibraryCache cache)
{
    private sealed record Entry(long Version, ExampleItem[] Items);

    /// <summary>The tenant's examples of <paramref name="task"/> (all when null), by id.</summary>
    public async Task<IReadOnlyList<ExampleItem>> GetAsync(string tenant, string? task, CancellationToken ct)
    {
        var key = ("examples", tenant, task);
        // The version first: a change committed between the two reads is at worst kept under the older version, and
        // so read again by the next request.
        var version = await queries.GetLibraryVersionAsync(tenant, ct);
        if (cache.Memory is { } memory && memory.TryGetValue(key, out Entry? entry) && entry!.Version == version)
        {
            return entry.Items;
        }
        var examples = await queries.GetAsync(tenant, task, ct);
        var found = await vectors.ForAsync(tenant, [.. examples.Select(e => e.Input)], ct);
        ExampleItem[] items = [.. examples.Select((e, i) => new ExampleItem(e.Id, e.Input, e.Output, found[i]))];
        if (cache.Memory is not null && items.All(i => i.Vector is not null))
        {
            cache.Memory.Set(key, new Entry(version, items), new MemoryCacheEntryOptions
            {
                Size = 1_024 + items.Sum(i => LibraryCache.Bytes(i.Input) + LibraryCache.Bytes(i.Output) + LibraryCache.Bytes(i.Vector) + 128),
            });
        }
        return items;
    }
}
