using ConversationService.Examples;

namespace ConversationService.Context;

/// <summary>
/// A tenant's few-shot examples with their vectors, per task, held in the <see cref="LibraryCache"/>: a context request
/// that asks for examples reads the tenant's library version instead of every example, and embeds none. Any example
/// put or deleted (through any replica) moves the version, and the examples are read again. With a provider, examples
/// not all embedded yet are not kept (read on each request until the embedding projection has caught up).
/// </summary>
public sealed class ExampleIndexCache(ExampleQueries queries, ContextVectors vectors, LibraryCache cache)
{
    /// <summary>The tenant's examples of <paramref name="task"/> (all when null), by id.</summary>
    public async Task<IReadOnlyList<ExampleItem>> GetAsync(string tenant, string? task, CancellationToken ct)
    {
        var key = ("examples", tenant, task);
        var version = await queries.GetLibraryVersionAsync(tenant, ct);
        if (cache.TryGet(key, version, out ExampleItem[] held))
        {
            return held;
        }
        var examples = await queries.GetAsync(tenant, task, ct);
        var found = await vectors.ForAsync(tenant, [.. examples.Select(e => e.Input)], ct);
        ExampleItem[] items = [.. examples.Select((e, i) => new ExampleItem(e.Id, e.Input, e.Output, found[i]))];
        cache.Keep(key, version, items, complete: items.All(i => i.Vector is not null),
            bytes: 1_024 + items.Sum(i => LibraryCache.Bytes(i.Input) + LibraryCache.Bytes(i.Output) + LibraryCache.Bytes(i.Vector) + 128));
        return items;
    }

    /// <summary>Drops the tenant's examples of every task: one of them was deleted (the event does not say its task).</summary>
    public void Forget(string tenant) => cache.Forget(key => key is (string kind, string owner, _) && kind == "examples" && owner == tenant);

    /// <summary>Whether any of the tenant's examples are held, for tests.</summary>
    internal bool Holds(string tenant) => cache.Holds(key => key is (string kind, string owner, _) && kind == "examples" && owner == tenant);
}

/// <summary>
/// On every replica (see <see cref="Storage.IReplicaSubscription"/>), a tenant that deleted an example has its
/// examples dropped from memory, so the deleted text does not stay there until evicted.
/// </summary>
public sealed class ExampleEviction(ExampleIndexCache cache) : Storage.IReplicaSubscription
{

    public IReadOnlyCollection<Type> EventTypes => [typeof(ExampleDeleted)];

    public void Handle(IReadOnlyList<JasperFx.Events.IEvent> events)
    {
        foreach (var tenant in events.Where(e => e.Data is ExampleDeleted).Select(e => e.TenantId).Distinct())
        {
            cache.Forget(tenant);
        }
    }
}
