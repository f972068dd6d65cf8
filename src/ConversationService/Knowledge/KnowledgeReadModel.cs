using ConversationService.Embeddings;
using ConversationService.EventStore;
using ConversationService.Hosting;
using Npgsql;

namespace ConversationService.Knowledge;

public sealed record DocumentRow(
    string Collection, string Id, string Text, string? Metadata, int Tokens, long Version,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record DocumentSummary(string Id, int Tokens, int ChunkCount, DateTimeOffset UpdatedAt);

/// <summary>A retrieval chunk: <see cref="Tokens"/> is the o200k_base count of <see cref="Text"/>.</summary>
public sealed record KnowledgeChunk(string Id, string Collection, string DocumentId, string Text, int Tokens);

/// <summary>
/// Documents and their chunks, kept by an inline projection in the append transaction. A delete removes the rows and
/// erases the text from the document's events (see DeleteDocument): the log keeps the facts, not the text.
/// </summary>
public sealed class KnowledgeProjection : IInlineProjection
{
    public string Ddl(string schema) => $"""
        CREATE TABLE IF NOT EXISTS {schema}.knowledge_documents (
            tenant_id   text        NOT NULL,
            collection  text        NOT NULL,
            document_id text        NOT NULL,
            text        text        NOT NULL,
            metadata    jsonb       NULL,
            tokens      integer     NOT NULL,
            chunk_count integer     NOT NULL,
            version     bigint      NOT NULL,
            created_at  timestamptz NOT NULL,
            updated_at  timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, collection, document_id));
        CREATE TABLE IF NOT EXISTS {schema}.knowledge_chunks (
            tenant_id   text    NOT NULL,
            collection  text    NOT NULL,
            document_id text    NOT NULL,
            n           integer NOT NULL,
            text        text    NOT NULL,
            tokens      integer NOT NULL,
            PRIMARY KEY (tenant_id, collection, document_id, n));
        CREATE TABLE IF NOT EXISTS {schema}.knowledge_collections (
            tenant_id   text   NOT NULL,
            collection  text   NOT NULL,
            version     bigint NOT NULL,
            PRIMARY KEY (tenant_id, collection));
        """;

    public void Apply(InlineBatch batch, IReadOnlyList<StoredEvent> events)
    {
        foreach (var stored in events)
        {
            switch (stored.Data)
            {
                case DocumentIndexed indexed:
                    batch.Add(
                        $"""
                        INSERT INTO {batch.Schema}.knowledge_documents AS d
                            (tenant_id, collection, document_id, text, metadata, tokens, chunk_count, version, created_at, updated_at)
                        VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $9)
                        ON CONFLICT (tenant_id, collection, document_id) DO UPDATE
                        SET text = excluded.text, metadata = excluded.metadata, tokens = excluded.tokens,
                            chunk_count = excluded.chunk_count, version = excluded.version, updated_at = excluded.updated_at
                        """,
                        batch.TenantId, indexed.Collection, indexed.DocumentId, indexed.Text, indexed.Metadata?.GetRawText(),
                        indexed.Tokens, indexed.Chunks.Count, stored.Version, indexed.IndexedAt.UtcDateTime);
                    DeleteChunks(batch, indexed.Collection, indexed.DocumentId);
                    batch.Add(
                        $"""
                        INSERT INTO {batch.Schema}.knowledge_chunks (tenant_id, collection, document_id, n, text, tokens)
                        SELECT $1, $2, $3, t.n, t.text, t.tokens
                        FROM unnest($4::integer[], $5::text[], $6::integer[]) AS t(n, text, tokens)
                        """,
                        batch.TenantId, indexed.Collection, indexed.DocumentId,
                        indexed.Chunks.Select((_, i) => i + 1).ToArray(),
                        indexed.Chunks.Select(c => DocumentStream.ChunkText(indexed, c)).ToArray(),
                        indexed.Chunks.Select(c => c.Tokens).ToArray());
                    Changed(batch, indexed.Collection);
                    break;
                case DocumentDeleted deleted:
                    DeleteChunks(batch, deleted.Collection, deleted.DocumentId);
                    batch.Add(
                        $"DELETE FROM {batch.Schema}.knowledge_documents WHERE tenant_id = $1 AND collection = $2 AND document_id = $3",
                        batch.TenantId, deleted.Collection, deleted.DocumentId);
                    Changed(batch, deleted.Collection);
                    break;
            }
        }
    }

    /// <summary>
    /// Every change to a collection's chunks moves its version, in the same transaction, so a replica that caches
    /// the collection (see <c>KnowledgeIndexCache</c>) knows from one small read whether its copy is still current.
    /// </summary>
    private static void Changed(InlineBatch batch, string collection) =>
        batch.Add(
            $"""
            INSERT INTO {batch.Schema}.knowledge_collections AS c (tenant_id, collection, version) VALUES ($1, $2, 1)
            ON CONFLICT (tenant_id, collection) DO UPDATE SET version = c.version + 1
            """,
            batch.TenantId, collection);

    private static void DeleteChunks(InlineBatch batch, string collection, string documentId) =>
        batch.Add(
            $"DELETE FROM {batch.Schema}.knowledge_chunks WHERE tenant_id = $1 AND collection = $2 AND document_id = $3",
            batch.TenantId, collection, documentId);
}

/// <summary>Chunks are embedded by the embedding projection; a new version or a delete releases the old ones.</summary>
public sealed class KnowledgeEmbeddingSource : IEmbeddingSource
{
    public EmbeddingChange? Map(StoredEvent stored) => stored.Data switch
    {
        DocumentIndexed indexed => new EmbeddingChange.Index(
            Source(indexed.Collection, indexed.DocumentId), null,
            [.. indexed.Chunks.Select(c => DocumentStream.ChunkText(indexed, c))], Replace: true),
        DocumentDeleted deleted => new EmbeddingChange.Release(Source(deleted.Collection, deleted.DocumentId)),
        _ => null,
    };

    private static string Source(string collection, string documentId) => DocumentStream.Id(collection, documentId);
}

/// <summary>Tenant-scoped reads of documents and chunks; every query filters by tenant first.</summary>
public sealed class KnowledgeQueries(NpgsqlDataSource dataSource, DatabaseSchema schema)
{
    private const string DocumentColumns = "collection, document_id, text, metadata::text, tokens, version, created_at, updated_at";

    /// <summary>The document as the write session sees it (its stream is locked, so the row cannot change meanwhile).</summary>
    public async Task<DocumentRow?> GetForWriteAsync(StreamWriteSession session, string collection, string documentId, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(DocumentSql, session.Connection, session.Transaction);
        AddKey(command.Parameters, session.TenantId, collection, documentId);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await ReadDocumentAsync(reader, ct);
    }

    public async Task<(DocumentRow Document, IReadOnlyList<KnowledgeChunk> Chunks)?> GetDocumentAsync(
        string tenant, string collection, string documentId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(DocumentSql),
                new NpgsqlBatchCommand(
                    $"""
                    SELECT collection, document_id, n, text, tokens FROM {schema.Name}.knowledge_chunks
                    WHERE tenant_id = $1 AND collection = $2 AND document_id = $3 ORDER BY n
                    """),
            },
        };
        foreach (NpgsqlBatchCommand command in batch.BatchCommands)
        {
            AddKey(command.Parameters, tenant, collection, documentId);
        }
        await using var reader = await batch.ExecuteReaderAsync(ct);
        if (await ReadDocumentAsync(reader, ct) is not { } document)
        {
            return null;
        }
        await reader.NextResultAsync(ct);
        return (document, await ReadChunksAsync(reader, ct));
    }

    private string DocumentSql =>
        $"SELECT {DocumentColumns} FROM {schema.Name}.knowledge_documents WHERE tenant_id = $1 AND collection = $2 AND document_id = $3";

    private static void AddKey(NpgsqlParameterCollection parameters, string tenant, string collection, string documentId)
    {
        parameters.Add(new() { Value = tenant });
        parameters.Add(new() { Value = collection });
        parameters.Add(new() { Value = documentId });
    }

    private static async Task<DocumentRow?> ReadDocumentAsync(NpgsqlDataReader reader, CancellationToken ct) =>
        await reader.ReadAsync(ct)
            ? new DocumentRow(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetInt32(4), reader.GetInt64(5), reader.GetFieldValue<DateTimeOffset>(6), reader.GetFieldValue<DateTimeOffset>(7))
            : null;

    /// <summary>Documents of a collection ordered by id, after <paramref name="after"/>, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<DocumentSummary>> ListAsync(
        string tenant, string collection, string? after, int limit, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT document_id, tokens, chunk_count, updated_at FROM {schema.Name}.knowledge_documents
            WHERE tenant_id = $1 AND collection = $2 AND document_id COLLATE "C" > $3
            ORDER BY document_id COLLATE "C" LIMIT $4
            """);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = collection });
        command.Parameters.Add(new() { Value = after ?? "" });
        command.Parameters.Add(new() { Value = limit });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var documents = new List<DocumentSummary>();
        while (await reader.ReadAsync(ct))
        {
            documents.Add(new DocumentSummary(
                reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }
        return documents;
    }

    /// <summary>Every chunk of the tenant's <paramref name="collections"/>, by collection, document and position.</summary>
    /// <summary>
    /// The version of each named collection that has one (moved by every document change); a collection not yet
    /// written to since versions were introduced has none and counts as version 0.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>> GetCollectionVersionsAsync(
        string tenant, IReadOnlyList<string> collections, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT collection, version FROM {schema.Name}.knowledge_collections WHERE tenant_id = $1 AND collection = ANY($2)");
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = collections.ToArray() });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            versions[reader.GetString(0)] = reader.GetInt64(1);
        }
        return versions;
    }

    public async Task<IReadOnlyList<KnowledgeChunk>> GetChunksAsync(
        string tenant, IReadOnlyList<string> collections, CancellationToken ct)
    {
        if (collections.Count == 0)
        {
            return [];
        }
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT collection, document_id, n, text, tokens FROM {schema.Name}.knowledge_chunks
            WHERE tenant_id = $1 AND collection = ANY($2) ORDER BY collection, document_id, n
            """);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = collections.ToArray() });
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await ReadChunksAsync(reader, ct);
    }

    private static async Task<IReadOnlyList<KnowledgeChunk>> ReadChunksAsync(NpgsqlDataReader reader, CancellationToken ct)
    {
        var chunks = new List<KnowledgeChunk>();
        while (await reader.ReadAsync(ct))
        {
            var documentId = reader.GetString(1);
            chunks.Add(new KnowledgeChunk(
                DocumentStream.ChunkId(documentId, reader.GetInt32(2)), reader.GetString(0), documentId, reader.GetString(3),
                reader.GetInt32(4)));
        }
        return chunks;
    }
}
