using System.Text.Json;
using ConversationService.Embeddings;
using ConversationService.Hosting;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Projections;

namespace ConversationService.Knowledge;

/// <summary>
/// A knowledge document as stored: its text and how it is chunked (ranges of the text with their o200k_base tokens).
/// Its id is "collection/document" ('/' occurs in neither).
/// </summary>
public sealed class KnowledgeDocument
{
    public string Id { get; set; } = "";
    public string Collection { get; set; } = "";
    public string DocumentId { get; set; } = "";

    /// <summary><see cref="DocumentId"/> in hexadecimal UTF-8: sorts ordinally whatever the database's collation.</summary>
    public string SortKey { get; set; } = "";

    public string Text { get; set; } = "";
    public JsonElement? Metadata { get; set; }
    public int Tokens { get; set; }
    public List<DocumentChunk> Chunks { get; set; } = [];
    public long Version { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    public static string IdOf(string collection, string documentId) => $"{collection}/{documentId}";

    /// <summary>The chunks as the context endpoint ranks them.</summary>
    public IEnumerable<KnowledgeChunk> ToChunks() => Chunks.Select((c, i) => new KnowledgeChunk(
        DocumentStream.ChunkId(DocumentId, i + 1), Collection, DocumentId, Text.Substring(c.Start, c.Length), c.Tokens));
}

/// <summary>
/// A collection's change marker: written on every change to one of its documents, so Marten gives it a new version
/// (its <c>mt_version</c>) each time, in the same transaction, and a replica that caches the collection (see
/// <c>KnowledgeIndexCache</c>) knows from one small read whether its copy is still current.
/// </summary>
public sealed class KnowledgeCollection
{
    public string Id { get; set; } = "";
    public Guid Version { get; set; }
}

public sealed record DocumentSummary(string Id, int Tokens, int ChunkCount, DateTimeOffset UpdatedAt);

/// <summary>A retrieval chunk: <see cref="Tokens"/> is the o200k_base count of <see cref="Text"/>.</summary>
public sealed record KnowledgeChunk(string Id, string Collection, string DocumentId, string Text, int Tokens);

/// <summary>
/// Keeps <see cref="KnowledgeDocument"/> and <see cref="KnowledgeCollection"/> inline, in the append's transaction. A
/// delete removes the document and erases the text from its events (see DeleteDocument): the log keeps the facts.
/// <para>
/// A replaced document keeps when it was first stored, which is the one thing it reads. The events come in pages (a
/// rebuild's, a group commit's) that may hold several of one document, and a page's writes are not readable before it
/// commits, so each event follows the state the previous one of the page left, and only the first of a document
/// reads the stored one. Rebuildable from the log (README, "Rebuilding projections"): both document types are
/// deleted first.
/// </para>
/// </summary>
public sealed class KnowledgeProjection : ProjectionBase, IProjection
{
    public const string ProjectionName = "knowledge";

    public static void Register(StoreOptions options)
    {
        options.Events.AddEventType<DocumentIndexed>();
        options.Events.AddEventType<DocumentDeleted>();
        options.Schema.For<KnowledgeDocument>().Duplicate(d => d.Collection).Duplicate(d => d.SortKey);
        options.Schema.For<KnowledgeCollection>().Metadata(m => m.Version.MapTo(c => c.Version));
        options.Projections.Add(new KnowledgeProjection(), ProjectionLifecycle.Inline, ProjectionName);
    }

    public KnowledgeProjection()
    {
        Name = ProjectionName;
        IncludeType<DocumentIndexed>();
        IncludeType<DocumentDeleted>();
        RegisterPublishedType(typeof(KnowledgeDocument));
        Options.DeleteViewTypeOnTeardown<KnowledgeDocument>();
        RegisterPublishedType(typeof(KnowledgeCollection));
        Options.DeleteViewTypeOnTeardown<KnowledgeCollection>();
    }

    public async Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        var current = new Dictionary<(string Tenant, string Id), KnowledgeDocument?>();
        var changed = new HashSet<(string Tenant, string Collection)>();
        foreach (var e in events)
        {
            // The event's own tenant: a group commit's session carries several tenants' appends.
            var tenant = operations.ForTenant(e.TenantId);
            switch (e.Data)
            {
                case DocumentIndexed indexed:
                    var key = (e.TenantId, KnowledgeDocument.IdOf(indexed.Collection, indexed.DocumentId));
                    if (!current.TryGetValue(key, out var existing))
                    {
                        existing = await tenant.LoadAsync<KnowledgeDocument>(key.Item2, cancellation);
                    }
                    var document = Indexed(existing, indexed, e.Version);
                    tenant.Store(document);
                    current[key] = document;
                    changed.Add((e.TenantId, indexed.Collection));
                    break;
                case DocumentDeleted deleted:
                    var id = KnowledgeDocument.IdOf(deleted.Collection, deleted.DocumentId);
                    tenant.Delete<KnowledgeDocument>(id);
                    current[(e.TenantId, id)] = null;
                    changed.Add((e.TenantId, deleted.Collection));
                    break;
            }
        }
        foreach (var (tenant, collection) in changed)
        {
            operations.ForTenant(tenant).Store(new KnowledgeCollection { Id = collection });
        }
    }

    /// <summary>The document as <paramref name="indexed"/> leaves it; a replaced one keeps when it was first stored.</summary>
    public static KnowledgeDocument Indexed(KnowledgeDocument? existing, DocumentIndexed indexed, long version) => new()
    {
        Id = KnowledgeDocument.IdOf(indexed.Collection, indexed.DocumentId), Collection = indexed.Collection,
        DocumentId = indexed.DocumentId, SortKey = SortKeys.Of(indexed.DocumentId), Text = indexed.Text,
        Metadata = indexed.Metadata, Tokens = indexed.Tokens, Chunks = [.. indexed.Chunks], Version = version,
        CreatedAt = existing?.CreatedAt ?? indexed.IndexedAt, UpdatedAt = indexed.IndexedAt,
    };
}

/// <summary>Chunks are embedded by the embedding projection; a new version or a delete releases the old ones.</summary>
public sealed class KnowledgeEmbeddingSource : IEmbeddingSource
{
    public EmbeddingChange? Map(IEvent stored) => stored.Data switch
    {
        DocumentIndexed indexed => new EmbeddingChange.Index(
            Source(indexed.Collection, indexed.DocumentId), null,
            [.. indexed.Chunks.Select(c => DocumentStream.ChunkText(indexed, c))], Replace: true),
        DocumentDeleted deleted => new EmbeddingChange.Release(Source(deleted.Collection, deleted.DocumentId)),
        _ => null,
    };

    private static string Source(string collection, string documentId) => DocumentStream.Id(collection, documentId);
}

/// <summary>Tenant-scoped reads of documents and chunks: every session is opened for the caller's tenant.</summary>
public sealed class KnowledgeQueries(IDocumentStore store)
{
    /// <summary>The document and its stream's version, for a write that appends only if neither moved.</summary>
    public async Task<(KnowledgeDocument? Document, long Version)> GetForWriteAsync(
        string tenant, string collection, string documentId, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var document = await session.LoadAsync<KnowledgeDocument>(KnowledgeDocument.IdOf(collection, documentId), ct);
        var stream = await session.Events.FetchStreamStateAsync(DocumentStream.Id(collection, documentId), ct);
        return (document, stream?.Version ?? 0);
    }

    public async Task<KnowledgeDocument?> GetDocumentAsync(string tenant, string collection, string documentId, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        return await session.LoadAsync<KnowledgeDocument>(KnowledgeDocument.IdOf(collection, documentId), ct);
    }

    /// <summary>Documents of a collection ordered by id (ordinal), after <paramref name="after"/>, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<DocumentSummary>> ListAsync(
        string tenant, string collection, string? after, int limit, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var afterKey = after is null ? "" : SortKeys.Of(after);
        var documents = await session.Query<KnowledgeDocument>()
            .Where(d => d.Collection == collection && d.SortKey.CompareTo(afterKey) > 0)
            .OrderBy(d => d.SortKey)
            .Take(limit)
            .Select(d => new DocumentSummary(d.DocumentId, d.Tokens, d.Chunks.Count, d.UpdatedAt))
            .ToListAsync(ct);
        return documents;
    }

    /// <summary>The version of each named collection that has one; a collection never written to has none.</summary>
    public async Task<IReadOnlyDictionary<string, Guid>> GetCollectionVersionsAsync(
        string tenant, IReadOnlyList<string> collections, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var found = await session.LoadManyAsync<KnowledgeCollection>(ct, collections);
        return found.ToDictionary(c => c.Id, c => c.Version, StringComparer.Ordinal);
    }

    /// <summary>Every chunk of the tenant's <paramref name="collections"/>, by collection, document and position.</summary>
    public async Task<IReadOnlyList<KnowledgeChunk>> GetChunksAsync(
        string tenant, IReadOnlyList<string> collections, CancellationToken ct)
    {
        if (collections.Count == 0)
        {
            return [];
        }
        await using var session = store.QuerySession(tenant);
        var documents = await session.Query<KnowledgeDocument>()
            .Where(d => collections.Contains(d.Collection))
            .ToListAsync(ct);
        return [.. documents
            .OrderBy(d => d.Collection, StringComparer.Ordinal).ThenBy(d => d.DocumentId, StringComparer.Ordinal)
            .SelectMany(d => d.ToChunks())];
    }
}
