using System.ClientModel;
using ConversationService.Conversations;
using ConversationService.Usage;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Marten.Services;
using Marten.Subscriptions;
using Microsoft.Extensions.Options;

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
    EmbeddingChange? Map(IEvent stored);
}

/// <summary>Every turn's content is indexed; a deleted conversation releases them.</summary>
public sealed class ConversationEmbeddingSource : IEmbeddingSource
{
    public EmbeddingChange? Map(IEvent stored) => stored.Data switch
    {
        TurnAppended turn => new EmbeddingChange.Index(Source(stored.StreamKey!), stored.StreamKey, [turn.Content], Replace: false),
        ConversationDeleted when !stored.StreamKey!.EndsWith("/summary", StringComparison.Ordinal) =>
            new EmbeddingChange.Release(Source(stored.StreamKey)),
        _ => null,
    };

    private static string Source(string conversationId) => "conversation/" + conversationId;
}

/// <summary>A provider's vector of one text, per tenant (the document's tenant), model and SHA-256 of the text.</summary>
public sealed class EmbeddingVector
{
    public string Id { get; set; } = "";
    public string Hash { get; set; } = "";
    public float[] Vector { get; set; } = [];
    public DateTimeOffset CreatedAt { get; set; }

    public static string IdOf(string model, byte[] hash) => $"{model}|{Convert.ToHexString(hash)}";
}

/// <summary>That a source (a conversation, a document, an example) holds a text: a vector goes when no source holds it.</summary>
public sealed class EmbeddingRef
{
    public string Id { get; set; } = "";
    public string Source { get; set; } = "";
    public string Hash { get; set; } = "";

    public static string IdOf(string source, string hash) => $"{source}|{hash}";
}

/// <summary>
/// The vector index, built by a subscription in Marten's daemon, off the request path: new texts are embedded in
/// batches of <see cref="EmbeddingOptions.BatchSize"/>, once per tenant, model and content hash.
/// <see cref="EmbeddingRef"/>s record which source holds which content, so a vector is deleted when its last source
/// is released (a content hash is shared by every source of the tenant with that text). The documents are written with
/// the subscription's progress. When the provider fails the page throws: Marten pauses the subscription and restarts
/// it from its progress, so no event is skipped, and indexedVersion waits.
/// </summary>
public sealed class EmbeddingProjection : SubscriptionBase
{
    private readonly EmbeddingStore _store;
    private readonly IEmbeddingSource[] _sources;
    private readonly IOptions<EmbeddingOptions> _options;
    private readonly TimeProvider _time;
    private readonly ILogger<EmbeddingProjection> _logger;

    public EmbeddingProjection(
        EmbeddingStore store, IEnumerable<IEmbeddingSource> sources, IOptions<EmbeddingOptions> options, TimeProvider time,
        ILogger<EmbeddingProjection> logger)
    {
        (_store, _sources, _options, _time, _logger) = (store, [.. sources], options, time, logger);
        // One progress per model: configuring another model (or dimensions) replays the log into vectors of that
        // model, and indexedVersion waits for it, instead of leaving older content without vectors.
        Name = ShardNameOf(store.ModelId);
    }

    /// <summary>Marten names shards by letters, digits and '_' only.</summary>
    public static string ShardNameOf(string modelId) =>
        "embeddings_" + new string([.. modelId.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '_')]);

    public override async Task<IChangeListener> ProcessEventsAsync(
        EventRange page, ISubscriptionController controller, IDocumentOperations operations, CancellationToken cancellationToken)
    {
        var changes = new List<(string Tenant, EmbeddingChange Change)>();
        foreach (var stored in page.Events)
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
            return NullChangeListener.Instance;
        }
        await EmbedMissingAsync(operations, EmbeddingPlan.Wanted(changes), cancellationToken);
        var deleted = await ApplyRefsAsync(operations, changes, cancellationToken);
        return deleted.Count == 0 ? NullChangeListener.Instance : new ForgetAfterCommit(_store, deleted);
    }

    /// <summary>
    /// Drops deleted vectors from the cache once their deletion is committed: dropped before, a concurrent read would
    /// load them again from the rows still there and keep them in memory after they are gone.
    /// </summary>
    private sealed class ForgetAfterCommit(EmbeddingStore store, IReadOnlyList<(string Tenant, byte[] Hash)> deleted) : IChangeListener
    {
        public Task BeforeCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token) => Task.CompletedTask;

        public Task AfterCommitAsync(IDocumentSession session, IChangeSet commit, CancellationToken token)
        {
            foreach (var (tenant, hash) in deleted)
            {
                store.Forget(tenant, hash);
            }
            return Task.CompletedTask;
        }
    }

    private async Task EmbedMissingAsync(IDocumentOperations operations, IReadOnlyList<WantedText> wanted, CancellationToken ct)
    {
        var missing = new List<WantedText>();
        foreach (var tenant in wanted.GroupBy(w => w.Tenant))
        {
            var found = (await operations.ForTenant(tenant.Key).LoadManyAsync<EmbeddingVector>(
                    ct, tenant.Select(w => EmbeddingVector.IdOf(_store.ModelId, w.Hash))))
                .Select(v => v.Hash).ToHashSet(StringComparer.Ordinal);
            missing.AddRange(tenant.Where(w => !found.Contains(Convert.ToHexString(w.Hash))));
        }
        // Provider calls are accounted to a conversation, so they are grouped by one.
        foreach (var group in missing.GroupBy(m => (m.Tenant, m.ConversationId)))
        {
            foreach (var batch in group.Chunk(_options.Value.BatchSize))
            {
                await EmbedAndStoreAsync(operations.ForTenant(group.Key.Tenant), group.Key.Tenant, group.Key.ConversationId, batch, ct);
            }
        }
    }

    /// <summary>
    /// A provider that rejects the input itself (400, 413, 422) would reject it on every retry and stall the index
    /// for everyone, so a rejected batch is retried text by text and a text rejected alone stays without a vector
    /// (ranked lexically). So does a text of a tenant whose daily LLM budget is spent: the provider is paid, and one
    /// tenant's budget must not hold up the others' index. Other failures (outage, 429, bad key) throw: the daemon
    /// retries the page later.
    /// </summary>
    private async Task EmbedAndStoreAsync(
        IDocumentOperations operations, string tenant, string? conversationId, WantedText[] batch, CancellationToken ct)
    {
        float[][] vectors;
        try
        {
            vectors = await _store.EmbedAsync(tenant, conversationId, [.. batch.Select(b => b.Text)], ct);
        }
        catch (DailyBudgetExhaustedException)
        {
            return;
        }
        catch (ClientResultException e) when (e.Status is 400 or 413 or 422)
        {
            if (batch.Length == 1)
            {
                _logger.LogError("{Model} rejected a text of tenant {Tenant} ({Status}); it stays without a vector: {Error}",
                    _store.ModelId, tenant, e.Status, e.Message);
                return;
            }
            foreach (var one in batch)
            {
                await EmbedAndStoreAsync(operations, tenant, conversationId, [one], ct);
            }
            return;
        }
        for (var i = 0; i < batch.Length; i++)
        {
            operations.Store(new EmbeddingVector
            {
                Id = EmbeddingVector.IdOf(_store.ModelId, batch[i].Hash), Hash = Convert.ToHexString(batch[i].Hash),
                Vector = vectors[i], CreatedAt = _time.GetUtcNow(),
            });
            _store.Remember(tenant, Convert.ToHexString(batch[i].Hash), vectors[i]);
        }
    }

    /// <summary>
    /// Applies the changes to the refs in event order, then deletes the vectors no source holds any more; returns
    /// those, for the cache. Everything commits with the subscription's progress.
    /// </summary>
    private async Task<List<(string Tenant, byte[] Hash)>> ApplyRefsAsync(
        IDocumentOperations operations, List<(string Tenant, EmbeddingChange Change)> changes, CancellationToken ct)
    {
        var deleted = new List<(string Tenant, byte[] Hash)>();
        var released = new HashSet<(string Tenant, string Hash)>();
        var added = new HashSet<(string Tenant, string Source, string Hash)>();
        var removed = new HashSet<(string Tenant, string Source, string Hash)>();
        foreach (var (tenant, change) in changes)
        {
            var session = operations.ForTenant(tenant);
            var hashes = change is EmbeddingChange.Index index
                ? EmbeddingPlan.Hashes(index.Texts).Select(Convert.ToHexString).ToHashSet(StringComparer.Ordinal)
                : [];
            if (change is EmbeddingChange.Release or EmbeddingChange.Index { Replace: true })
            {
                var source = change.Source;
                var held = await session.Query<EmbeddingRef>().Where(r => r.Source == source).ToListAsync(ct);
                foreach (var old in held.Select(r => r.Hash)
                             .Concat(added.Where(a => a.Tenant == tenant && a.Source == source).Select(a => a.Hash))
                             .Where(h => !hashes.Contains(h)).Distinct().ToList())
                {
                    session.Delete<EmbeddingRef>(EmbeddingRef.IdOf(source, old));
                    added.Remove((tenant, source, old));
                    removed.Add((tenant, source, old));
                    released.Add((tenant, old));
                }
            }
            foreach (var hash in hashes)
            {
                // Once per page: the daemon's session refuses a second document of the same id (the same text posted
                // twice in one conversation), and the page would fail on every retry.
                if (added.Add((tenant, change.Source, hash)))
                {
                    session.Store(new EmbeddingRef { Id = EmbeddingRef.IdOf(change.Source, hash), Source = change.Source, Hash = hash });
                }
                removed.Remove((tenant, change.Source, hash));
                released.Remove((tenant, hash));
            }
        }
        foreach (var tenant in released.GroupBy(r => r.Tenant))
        {
            var session = operations.ForTenant(tenant.Key);
            var candidates = tenant.Select(r => r.Hash).ToArray();
            // A hash still held by a stored ref this page did not remove, or by one it added, keeps its vector.
            var stored = await session.Query<EmbeddingRef>().Where(r => candidates.Contains(r.Hash)).ToListAsync(ct);
            var stillHeld = stored.Where(r => !removed.Contains((tenant.Key, r.Source, r.Hash))).Select(r => r.Hash)
                .Concat(added.Where(a => a.Tenant == tenant.Key).Select(a => a.Hash))
                .ToHashSet(StringComparer.Ordinal);
            foreach (var hash in candidates.Where(h => !stillHeld.Contains(h)))
            {
                session.Delete<EmbeddingVector>(EmbeddingVector.IdOf(_store.ModelId, Convert.FromHexString(hash)));
                deleted.Add((tenant.Key, Convert.FromHexString(hash)));
            }
        }
        return deleted;
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
