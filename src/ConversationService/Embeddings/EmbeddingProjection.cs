using System.ClientModel;
using ConversationService.Conversations;
using ConversationService.EventStore;
using ConversationService.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace ConversationService.Embeddings;

/// <summary>What one stored event means for the vector index.</summary>
public abstract record EmbeddingChange(string Source)
{
    /// <summary>
    /// <paramref name="Texts"/> of <paramref name="Source"/> are to be embedded. With <paramref name="Replace"/> they
    /// are the source's whole content now, so its earlier texts that are not among them are released.
    /// <paramref name="ConversationId"/> is what the provider call is accounted to.
    /// </summary>
    public sealed record Index(string Source, string? ConversationId, IReadOnlyList<string> Texts, bool Replace)
        : EmbeddingChange(Source);

    /// <summary>The source is gone: its vectors must not stay readable.</summary>
    public sealed record Release(string Source) : EmbeddingChange(Source);
}

/// <summary>Maps a feature's events to <see cref="EmbeddingChange"/>s; null for events that change no text.</summary>
public interface IEmbeddingSource
{
    EmbeddingChange? Map(StoredEvent stored);
}

/// <summary>Every turn's content is indexed; a deleted conversation releases them.</summary>
public sealed class ConversationEmbeddingSource : IEmbeddingSource
{
    public EmbeddingChange? Map(StoredEvent stored) => stored.Data switch
    {
        TurnAppended turn => new EmbeddingChange.Index(Source(stored.StreamId), stored.StreamId, [turn.Content], Replace: false),
        ConversationDeleted => new EmbeddingChange.Release(Source(stored.StreamId)),
        _ => null,
    };

    private static string Source(string conversationId) => "conversation/" + conversationId;
}

/// <summary>
/// The vector index, built in the daemon off the request path: new texts are embedded in batches of
/// <see cref="EmbeddingOptions.BatchSize"/>, once per tenant, model and content hash. <c>embedding_refs</c> records
/// which source holds which content, so a vector is deleted when its last source is released (a content hash is
/// shared by every source of the tenant with that text). When the provider fails the batch throws and the daemon
/// retries it from the checkpoint: no event is skipped, and indexedVersion waits.
/// </summary>
public sealed class EmbeddingProjection(
    EmbeddingStore store, IEnumerable<IEmbeddingSource> sources, NpgsqlDataSource dataSource, DatabaseSchema schema,
    IOptions<EmbeddingOptions> options, TimeProvider time, ILogger<EmbeddingProjection> logger) : IAsyncProjection
{
    private readonly IEmbeddingSource[] _sources = [.. sources];

    /// <summary>
    /// One checkpoint per model: configuring another model (or dimensions) replays the log into vectors of that model,
    /// and indexedVersion waits for it, instead of leaving older content without vectors.
    /// </summary>
    public string Name => "embeddings/" + store.ModelId;

    /// <summary>
    /// Offline vectors are a function of the text alone, computed in process where they are needed (cheaper than
    /// reading them back): only a provider's vectors are stored, so offline there is nothing to project.
    /// </summary>
    public bool Enabled => !store.IsLocal;

    /// <summary>
    /// The provider's own errors (outage, 429, a bad key; rejected inputs are handled in EmbedAndInsertAsync, text by text) and an open
    /// circuit or a timed-out call are its failures, not an event's: the batch waits for the provider.
    /// </summary>
    public bool IsTransient(Exception exception) => exception is ClientResultException or Polly.ExecutionRejectedException;

    public string Ddl(string schema) => $"""
        CREATE TABLE IF NOT EXISTS {schema}.embeddings (
            tenant_id    text        NOT NULL,
            model        text        NOT NULL,
            content_hash bytea       NOT NULL,
            vector       bytea       NOT NULL,
            created_at   timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, model, content_hash));
        CREATE TABLE IF NOT EXISTS {schema}.embedding_refs (
            tenant_id    text  NOT NULL,
            source       text  NOT NULL,
            content_hash bytea NOT NULL,
            PRIMARY KEY (tenant_id, source, content_hash));
        CREATE INDEX IF NOT EXISTS embedding_refs_hash ON {schema}.embedding_refs (tenant_id, content_hash);
        """;

    public async Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken)
    {
        var changes = new List<(string Tenant, EmbeddingChange Change)>();
        foreach (var stored in events)
        {
            foreach (var source in _sources)
            {
                if (source.Map(stored) is { } change)
                {
                    changes.Add((stored.TenantId, change));
                }
            }
        }
        if (changes.Count == 0)
        {
            return;
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await EmbedMissingAsync(connection, EmbeddingPlan.Wanted(changes), cancellationToken);
        await ApplyRefsAsync(connection, changes, cancellationToken);
    }

    private async Task EmbedMissingAsync(NpgsqlConnection connection, IReadOnlyList<WantedText> wanted, CancellationToken ct)
    {
        var missing = await MissingAsync(connection, wanted, ct);
        // Provider calls are accounted to a conversation, so they are grouped by one.
        foreach (var group in missing.GroupBy(m => (m.Tenant, m.ConversationId)))
        {
            foreach (var batch in group.Chunk(options.Value.BatchSize))
            {
                await EmbedAndInsertAsync(connection, group.Key.Tenant, group.Key.ConversationId, batch, ct);
            }
        }
    }

    /// <summary>
    /// A provider that rejects the input itself (400, 413, 422) would reject it on every retry and stall the index
    /// for everyone, so a rejected batch is retried text by text and a text rejected alone stays without a vector
    /// (ranked lexically). Other failures (outage, 429, bad key) throw: the daemon retries the batch later.
    /// </summary>
    private async Task EmbedAndInsertAsync(
        NpgsqlConnection connection, string tenant, string? conversationId, WantedText[] batch, CancellationToken ct)
    {
        float[][] vectors;
        try
        {
            vectors = await store.EmbedAsync(tenant, conversationId, [.. batch.Select(b => b.Text)], ct);
        }
        catch (ClientResultException e) when (e.Status is 400 or 413 or 422)
        {
            if (batch.Length == 1)
            {
                logger.LogError("{Model} rejected a text of tenant {Tenant} ({Status}); it stays without a vector: {Error}",
                    store.ModelId, tenant, e.Status, e.Message);
                return;
            }
            foreach (var one in batch)
            {
                await EmbedAndInsertAsync(connection, tenant, conversationId, [one], ct);
            }
            return;
        }
        await InsertAsync(connection, tenant, batch, vectors, ct);
    }

    private async Task<List<WantedText>> MissingAsync(NpgsqlConnection connection, IReadOnlyList<WantedText> wanted, CancellationToken ct)
    {
        var missing = new List<WantedText>();
        if (wanted.Count == 0)
        {
            return missing;
        }
        await using var command = new NpgsqlCommand(
            $"""
            SELECT t.i FROM unnest($2::text[], $3::bytea[]) WITH ORDINALITY AS t(tenant_id, content_hash, i)
            WHERE NOT EXISTS (SELECT 1 FROM {schema.Name}.embeddings e
                              WHERE e.tenant_id = t.tenant_id AND e.model = $1 AND e.content_hash = t.content_hash)
            """, connection);
        command.Parameters.Add(new() { Value = store.ModelId });
        command.Parameters.Add(new() { Value = wanted.Select(w => w.Tenant).ToArray() });
        command.Parameters.Add(new() { Value = wanted.Select(w => w.Hash).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            missing.Add(wanted[(int)reader.GetInt64(0) - 1]);
        }
        return missing;
    }

    private async Task InsertAsync(NpgsqlConnection connection, string tenant, WantedText[] batch, float[][] vectors, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            INSERT INTO {schema.Name}.embeddings (tenant_id, model, content_hash, vector, created_at)
            SELECT $1, $2, t.content_hash, t.vector, $5 FROM unnest($3::bytea[], $4::bytea[]) AS t(content_hash, vector)
            ON CONFLICT DO NOTHING
            """, connection);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = store.ModelId });
        command.Parameters.Add(new() { Value = batch.Select(b => b.Hash).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new() { Value = vectors.Select(EmbeddingStore.ToBytes).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new() { Value = time.GetUtcNow().UtcDateTime });
        await command.ExecuteNonQueryAsync(ct);
        for (var i = 0; i < batch.Length; i++)
        {
            store.Remember(tenant, Convert.ToHexString(batch[i].Hash), vectors[i]);
        }
    }

    /// <summary>
    /// Applies the changes to the refs in event order, in one transaction, then deletes the vectors no source holds
    /// any more (and drops them from the cache).
    /// </summary>
    private async Task ApplyRefsAsync(
        NpgsqlConnection connection, List<(string Tenant, EmbeddingChange Change)> changes, CancellationToken ct)
    {
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var released = new HashSet<(string Tenant, string Hash)>();
        // Runs of plain additions (a turn after a turn) go in one statement; a release or replacement flushes them first.
        var additions = new List<(string Tenant, string Source, byte[] Hash)>();
        foreach (var (tenant, change) in changes)
        {
            var hashes = change is EmbeddingChange.Index index ? EmbeddingPlan.Hashes(index.Texts) : [];
            if (change is EmbeddingChange.Release or EmbeddingChange.Index { Replace: true })
            {
                await AddRefsAsync(connection, transaction, additions, ct);
                await using var delete = new NpgsqlCommand(
                    $"""
                    DELETE FROM {schema.Name}.embedding_refs
                    WHERE tenant_id = $1 AND source = $2 AND NOT (content_hash = ANY($3))
                    RETURNING content_hash
                    """, connection, transaction);
                delete.Parameters.Add(new() { Value = tenant });
                delete.Parameters.Add(new() { Value = change.Source });
                delete.Parameters.Add(new() { Value = hashes, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
                await using var reader = await delete.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    released.Add((tenant, Convert.ToHexString(reader.GetFieldValue<byte[]>(0))));
                }
            }
            additions.AddRange(hashes.Select(hash => (tenant, change.Source, hash)));
        }
        await AddRefsAsync(connection, transaction, additions, ct);
        var gone = new List<(string Tenant, byte[] Hash)>();
        foreach (var group in released.GroupBy(r => r.Tenant))
        {
            await using var collect = new NpgsqlCommand(
                $"""
                DELETE FROM {schema.Name}.embeddings e
                WHERE e.tenant_id = $1 AND e.content_hash = ANY($2)
                  AND NOT EXISTS (SELECT 1 FROM {schema.Name}.embedding_refs r
                                  WHERE r.tenant_id = e.tenant_id AND r.content_hash = e.content_hash)
                RETURNING e.content_hash
                """, connection, transaction);
            collect.Parameters.Add(new() { Value = group.Key });
            collect.Parameters.Add(new()
            {
                Value = group.Select(r => Convert.FromHexString(r.Hash)).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea,
            });
            await using var reader = await collect.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                gone.Add((group.Key, reader.GetFieldValue<byte[]>(0)));
            }
        }
        await transaction.CommitAsync(ct);
        foreach (var (tenant, hash) in gone)
        {
            store.Forget(tenant, hash);
        }
    }

    private async Task AddRefsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, List<(string Tenant, string Source, byte[] Hash)> additions,
        CancellationToken ct)
    {
        if (additions.Count == 0)
        {
            return;
        }
        await using var insert = new NpgsqlCommand(
            $"""
            INSERT INTO {schema.Name}.embedding_refs (tenant_id, source, content_hash)
            SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[]) ON CONFLICT DO NOTHING
            """, connection, transaction);
        insert.Parameters.Add(new() { Value = additions.Select(a => a.Tenant).ToArray() });
        insert.Parameters.Add(new() { Value = additions.Select(a => a.Source).ToArray() });
        insert.Parameters.Add(new() { Value = additions.Select(a => a.Hash).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        await insert.ExecuteNonQueryAsync(ct);
        additions.Clear();
    }
}

public sealed record WantedText(string Tenant, string? ConversationId, byte[] Hash, string Text);

/// <summary>Pure decisions of the projection.</summary>
public static class EmbeddingPlan
{
    /// <summary>
    /// The texts to embed: those of every <see cref="EmbeddingChange.Index"/> that no later change of the same source in
    /// the batch releases or replaces, blank texts aside, once per tenant and content hash.
    /// </summary>
    public static IReadOnlyList<WantedText> Wanted(IReadOnlyList<(string Tenant, EmbeddingChange Change)> changes)
    {
        var superseded = new HashSet<(string, string)>();
        var wanted = new List<WantedText>();
        var seen = new HashSet<(string, string)>();
        for (var i = changes.Count - 1; i >= 0; i--)
        {
            var (tenant, change) = changes[i];
            if (change is EmbeddingChange.Index index && !superseded.Contains((tenant, change.Source)))
            {
                foreach (var text in index.Texts.Where(t => !string.IsNullOrWhiteSpace(t)))
                {
                    var hash = EmbeddingStore.Hash(text);
                    if (seen.Add((tenant, Convert.ToHexString(hash))))
                    {
                        wanted.Add(new WantedText(tenant, index.ConversationId, hash, text));
                    }
                }
            }
            if (change is EmbeddingChange.Release or EmbeddingChange.Index { Replace: true })
            {
                superseded.Add((tenant, change.Source));
            }
        }
        wanted.Reverse();
        return wanted;
    }

    public static byte[][] Hashes(IReadOnlyList<string> texts) =>
        [.. texts.Where(t => !string.IsNullOrWhiteSpace(t)).Select(EmbeddingStore.Hash).DistinctBy(Convert.ToHexString)];
}
