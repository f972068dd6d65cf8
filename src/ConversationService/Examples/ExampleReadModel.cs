using ConversationService.Embeddings;
using ConversationService.Hosting;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Projections;

namespace ConversationService.Examples;

/// <summary>A few-shot example as the context endpoint uses it.</summary>
public sealed record FewShotExample(string Id, string Input, string Output, string? Task);

/// <summary>A few-shot example as stored.</summary>
public sealed class ExampleView
{
    public string Id { get; set; } = "";

    /// <summary><see cref="Id"/> in hexadecimal UTF-8: sorts ordinally whatever the database's collation.</summary>
    public string SortKey { get; set; } = "";

    public string Input { get; set; } = "";
    public string Output { get; set; } = "";
    public string? Task { get; set; }
    public long Version { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// A tenant's example library's change marker: written on every change to one of its examples, so Marten gives it a
/// new version (<c>mt_version</c>) each time, in the same transaction, and a replica that caches the examples (see
/// <c>ExampleIndexCache</c>) knows from one small read whether its copy is still current. One per tenant (id "library").
/// </summary>
public sealed class ExampleLibrary
{
    public const string Key = "library";

    public string Id { get; set; } = Key;
    public Guid Version { get; set; }
}

/// <summary>
/// Keeps <see cref="ExampleView"/> and <see cref="ExampleLibrary"/> inline, in the append's transaction. As with
/// knowledge documents, a replaced example keeps when it was first stored, and each event of a page follows the state
/// the previous one of the page left (a page's writes are not readable before it commits). Rebuildable from the log
/// (README, "Rebuilding projections"): both document types are deleted first.
/// </summary>
public sealed class ExampleProjection : ProjectionBase, IProjection
{
    public const string ProjectionName = "examples";

    public static void Register(StoreOptions options)
    {
        options.Events.AddEventType<ExampleSaved>();
        options.Events.AddEventType<ExampleDeleted>();
        options.Schema.For<ExampleView>().Duplicate(x => x.SortKey).Duplicate(x => x.Task!);
        options.Schema.For<ExampleLibrary>().Metadata(m => m.Version.MapTo(l => l.Version));
        options.Projections.Add(new ExampleProjection(), ProjectionLifecycle.Inline, ProjectionName);
    }

    public ExampleProjection()
    {
        Name = ProjectionName;
        IncludeType<ExampleSaved>();
        IncludeType<ExampleDeleted>();
        RegisterPublishedType(typeof(ExampleView));
        Options.DeleteViewTypeOnTeardown<ExampleView>();
        RegisterPublishedType(typeof(ExampleLibrary));
        Options.DeleteViewTypeOnTeardown<ExampleLibrary>();
    }

    public async Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        var current = new Dictionary<(string Tenant, string Id), ExampleView?>();
        var changed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            // The event's own tenant: a group commit's session carries several tenants' appends.
            var tenant = operations.ForTenant(e.TenantId);
            switch (e.Data)
            {
                case ExampleSaved saved:
                    if (!current.TryGetValue((e.TenantId, saved.ExampleId), out var existing))
                    {
                        existing = await tenant.LoadAsync<ExampleView>(saved.ExampleId, cancellation);
                    }
                    var example = Saved(existing, saved, e.Version);
                    tenant.Store(example);
                    current[(e.TenantId, saved.ExampleId)] = example;
                    changed.Add(e.TenantId);
                    break;
                case ExampleDeleted deleted:
                    tenant.Delete<ExampleView>(deleted.ExampleId);
                    current[(e.TenantId, deleted.ExampleId)] = null;
                    changed.Add(e.TenantId);
                    break;
            }
        }
        foreach (var tenant in changed)
        {
            operations.ForTenant(tenant).Store(new ExampleLibrary());
        }
    }

    /// <summary>The example as <paramref name="saved"/> leaves it; a replaced one keeps when it was first stored.</summary>
    public static ExampleView Saved(ExampleView? existing, ExampleSaved saved, long version) => new()
    {
        Id = saved.ExampleId, SortKey = SortKeys.Of(saved.ExampleId), Input = saved.Input, Output = saved.Output,
        Task = saved.Task, Version = version, CreatedAt = existing?.CreatedAt ?? saved.SavedAt, UpdatedAt = saved.SavedAt,
    };
}

/// <summary>An example is chosen by the similarity of its input to the query, so the input is what gets embedded.</summary>
public sealed class ExampleEmbeddingSource : IEmbeddingSource
{
    public EmbeddingChange? Map(IEvent stored) => stored.Data switch
    {
        ExampleSaved saved => new EmbeddingChange.Index(ExampleStream.Id(saved.ExampleId), null, [saved.Input], Replace: true),
        ExampleDeleted deleted => new EmbeddingChange.Release(ExampleStream.Id(deleted.ExampleId)),
        _ => null,
    };
}

/// <summary>Tenant-scoped reads of the examples: every session is opened for the caller's tenant.</summary>
public sealed class ExampleQueries(IDocumentStore store)
{
    /// <summary>The version of the tenant's examples (moved by every change); empty when none was ever written.</summary>
    public async Task<Guid> GetLibraryVersionAsync(string tenant, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        return (await session.LoadAsync<ExampleLibrary>(ExampleLibrary.Key, ct))?.Version ?? Guid.Empty;
    }

    /// <summary>The tenant's examples, only those of <paramref name="task"/> when one is given, by id.</summary>
    public async Task<IReadOnlyList<FewShotExample>> GetAsync(string tenant, string? task, CancellationToken ct) =>
        [.. (await ListAsync(tenant, task, null, int.MaxValue, ct)).Select(r => new FewShotExample(r.Id, r.Input, r.Output, r.Task))];

    /// <summary>Ordered by id (ordinal), after <paramref name="after"/>, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<ExampleView>> ListAsync(string tenant, string? task, string? after, int limit, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var afterKey = after is null ? "" : SortKeys.Of(after);
        var query = session.Query<ExampleView>().Where(x => x.SortKey.CompareTo(afterKey) > 0);
        if (task is not null)
        {
            query = query.Where(x => x.Task == task);
        }
        return await query.OrderBy(x => x.SortKey).Take(limit).ToListAsync(ct);
    }

    public async Task<ExampleView?> GetOneAsync(string tenant, string id, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        return await session.LoadAsync<ExampleView>(id, ct);
    }

    /// <summary>The example and its stream's version, for a write that appends only if neither moved.</summary>
    public async Task<(ExampleView? Example, long Version)> GetForWriteAsync(string tenant, string id, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var example = await session.LoadAsync<ExampleView>(id, ct);
        var stream = await session.Events.FetchStreamStateAsync(ExampleStream.Id(id), ct);
        return (example, stream?.Version ?? 0);
    }
}
