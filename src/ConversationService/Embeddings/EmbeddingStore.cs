using System.Collections.Concurrent;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using ConversationService.Contracts;
using ConversationService.Hosting;
using ConversationService.Relevance;
using ConversationService.Usage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Marten;

namespace ConversationService.Embeddings;

/// <summary>
/// Vectors of the configured model, L2-normalized. The local model's and a provider's are stored by tenant and content
/// hash in PostgreSQL by <see cref="EmbeddingProjection"/> (so identical content is embedded once per tenant and model),
/// with a size-bounded memory cache in front; the lexical hash's are computed in process and never stored. Query vectors
/// are cached beside them under keys of their own. Returned arrays are shared: callers must not write to them.
/// </summary>
public sealed class EmbeddingStore : IDisposable
{
    private readonly EmbeddingModel _model;
    private readonly EmbeddingOptions _options;
    private readonly LlmOptions _llm;
    private readonly LlmCallLog _calls;
    // Lazily, as the store: the budget stores its alerts through the document store.
    private readonly Lazy<DailyBudget> _budget;
    // Lazily: the embedding projection, which Marten builds with the store, depends on this class.
    private readonly Lazy<IDocumentStore> _store;
    private readonly TimeProvider _time;
    private readonly ILogger<EmbeddingStore> _logger;
    private readonly MemoryCache _cache;
    private readonly ConcurrentDictionary<CacheKey, Lazy<Task<float[]?>>> _pendingQueries = new();

    public EmbeddingStore(
        EmbeddingModel model, IOptions<EmbeddingOptions> options, IOptions<LlmOptions> llm,
        LlmCallLog calls, IServiceProvider services, TimeProvider time, ILogger<EmbeddingStore> logger)
    {
        _model = model;
        _options = options.Value;
        _llm = llm.Value;
        _calls = calls;
        _store = new Lazy<IDocumentStore>(services.GetRequiredService<IDocumentStore>);
        _budget = new Lazy<DailyBudget>(services.GetRequiredService<DailyBudget>);
        _time = time;
        _logger = logger;
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = _options.CacheMegabytes * 1_048_576L });
        ModelId = model.Id;
    }

    /// <summary>How ranking fuses these vectors' cosine with BM25.</summary>
    public FusionWeights Fusion => _model.Fusion;

    /// <summary>The model (and dimensions, when configured) the vectors belong to.</summary>
    public string ModelId { get; }

    /// <summary>Whether vectors are computed where needed instead of stored: the lexical hash, cheaper than a database read.</summary>
    internal bool IsLocal => !_model.Stored;

    /// <summary>SHA-256 of the UTF-8 text: the storage key of its vector.</summary>
    public static byte[] Hash(string text) => SHA256.HashData(Encoding.UTF8.GetBytes(text));

    /// <summary>
    /// The stored vectors of <paramref name="texts"/>, null where the projection has not embedded a text (yet): the
    /// cache, then PostgreSQL, never a model call. The lexical hash's are not stored: <c>ContextVectors</c> computes
    /// them in process, the one place that does.
    /// </summary>
    public async Task<float[]?[]> GetVectorsAsync(string tenant, IReadOnlyList<string> texts, CancellationToken ct)
    {
        if (IsLocal)
        {
            throw new InvalidOperationException("Lexical vectors are not stored; ContextVectors computes them in process.");
        }
        var vectors = new float[]?[texts.Count];
        var missing = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var hashes = new List<byte[]>();
        for (var i = 0; i < texts.Count; i++)
        {
            var hash = Hash(texts[i]);
            var key = Convert.ToHexString(hash);
            if (Cached(tenant, key, query: false) is { } cached)
            {
                vectors[i] = cached;
            }
            else if (missing.TryGetValue(key, out var positions))
            {
                positions.Add(i);
            }
            else
            {
                missing[key] = [i];
                hashes.Add(hash);
            }
        }
        if (hashes.Count == 0)
        {
            return vectors;
        }
        foreach (var (hash, vector) in await LoadAsync(tenant, hashes, ct))
        {
            var key = Convert.ToHexString(hash);
            Remember(tenant, key, vector);
            foreach (var i in missing[key])
            {
                vectors[i] = vector;
            }
        }
        return vectors;
    }

    /// <summary>
    /// The query's vector, embedded on the request path through the configured generator, as a query when the model
    /// tells queries from documents (cached in memory by tenant and text, apart from document vectors). Null, with a
    /// warning, when the model fails, is slow (<see cref="EmbeddingOptions.QueryTimeout"/>) or a provider's circuit is
    /// open: the context then ranks lexically.
    /// </summary>
    public async Task<float[]?> EmbedQueryAsync(string tenant, string? conversationId, string text, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var hash = Hash(text);
        var key = new CacheKey(tenant, Convert.ToHexString(hash), Query: true);
        if (Cached(tenant, key.Hash, query: true) is { } cached)
        {
            return cached;
        }
        // One embedding per query at a time: a request that arrives while the same query is being embedded (by the
        // warm-up after an append, or by another request) waits for that one. It runs under its own timeout, so one
        // caller giving up does not fail the others.
        var pending = _pendingQueries.GetOrAdd(key, k => new Lazy<Task<float[]?>>(() => EmbedQueryOnceAsync(k, conversationId, text, hash)));
        return await pending.Value.WaitAsync(ct);
    }

    /// <summary>Whether texts may be embedded here on demand (a caller's candidates, queries ahead of their request): the local model, not a paid provider.</summary>
    internal bool EmbedsInProcess => _model is { Stored: true, Remote: false };

    /// <summary>
    /// Vectors of texts no projection stores (a caller's candidates) with the local model: from the memory cache, the
    /// rest embedded now as documents, in one call under <see cref="EmbeddingOptions.QueryTimeout"/>, and cached (not
    /// stored). All null, with a warning, when that fails or takes too long: the candidates then rank lexically.
    /// </summary>
    public async Task<float[]?[]> EmbedTransientAsync(string tenant, IReadOnlyList<string> texts, CancellationToken ct)
    {
        if (!EmbedsInProcess)
        {
            return new float[]?[texts.Count];
        }
        var keys = texts.Select(t => Convert.ToHexString(Hash(t))).ToArray();
        var vectors = keys.Select(k => Cached(tenant, k, query: false)).ToArray();
        var missing = Enumerable.Range(0, texts.Count).Where(i => vectors[i] is null).ToArray();
        if (missing.Length == 0)
        {
            return vectors;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.QueryTimeout);
        try
        {
            var embedded = await EmbedAsync(tenant, null, [.. missing.Select(i => texts[i])], timeout.Token);
            for (var k = 0; k < missing.Length; k++)
            {
                vectors[missing[k]] = embedded[k];
                Remember(tenant, keys[missing[k]], embedded[k]);
            }
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            _logger.LogWarning("Embedding {Count} candidates with {Model} failed, ranking them lexically: {Error}", missing.Length, ModelId, e.Message);
        }
        return vectors;
    }

    /// <summary>The query vector of <paramref name="text"/> when it is cached; never embeds.</summary>
    internal float[]? CachedQuery(string tenant, string text) => Cached(tenant, Convert.ToHexString(Hash(text)), query: true);

    private async Task<float[]?> EmbedQueryOnceAsync(CacheKey key, string? conversationId, string text, byte[] hash)
    {
        using var timeout = new CancellationTokenSource(_options.QueryTimeout);
        try
        {
            // The query is often a stored turn (the newest user turn), already embedded by the projection: its vector
            // serves when the model embeds queries and documents alike.
            var symmetric = _model.Stored && _model.QueryOptions is null;
            var vector = symmetric ? (await LoadAsync(key.Tenant, [hash], timeout.Token)).Select(v => v.Vector).FirstOrDefault() : null;
            vector ??= (await EmbedAsync(key.Tenant, conversationId, [text], timeout.Token, _model.QueryOptions))[0];
            Remember(key.Tenant, key.Hash, vector, query: true);
            return vector;
        }
        catch (DailyBudgetExhaustedException)
        {
            return null; // the budget's alert was logged once; the context ranks lexically until the next UTC day
        }
        catch (Exception e)
        {
            _logger.LogWarning("Query embedding with {Model} failed, ranking lexically: {Error}", ModelId, e.Message);
            return null;
        }
        finally
        {
            _pendingQueries.TryRemove(key, out _);
        }
    }

    /// <summary>
    /// Calls the generator, records a provider call's tokens and cost, and returns unit-length vectors. A provider is
    /// paid: it is called only while the tenant's daily budget allows (<see cref="DailyBudgetExhaustedException"/>).
    /// </summary>
    internal async Task<float[][]> EmbedAsync(
        string tenant, string? conversationId, IReadOnlyList<string> texts, CancellationToken ct, EmbeddingGenerationOptions? options = null)
    {
        if (_model.Remote && await _budget.Value.CheckAsync(tenant, ct) == BudgetState.Exhausted)
        {
            throw new DailyBudgetExhaustedException(tenant);
        }
        var started = _time.GetTimestamp();
        var generated = await _model.Generator.GenerateAsync(texts, options, ct);
        var latency = _time.GetElapsedTime(started);
        if (generated.Count != texts.Count)
        {
            throw new InvalidOperationException($"{ModelId} returned {generated.Count} embeddings for {texts.Count} texts.");
        }
        if (_model.Remote)
        {
            var usage = new LlmUsage((int)Math.Min(int.MaxValue, generated.Usage?.InputTokenCount ?? 0), 0, 0);
            var model = _options.EffectiveModel;
            await _calls.RecordAsync(
                new LlmCall(tenant, conversationId, CallTypes.Embedding, model, usage, latency,
                    Pricing.Cost(_llm.Prices, model, usage), _time.GetUtcNow()),
                ct);
        }
        return [.. generated.Select(e => Normalize(e.Vector.ToArray()))];
    }

    private float[]? Cached(string tenant, string hashKey, bool query) =>
        _cache.TryGetValue(new CacheKey(tenant, hashKey, query), out float[]? vector) ? vector : null;

    internal void Remember(string tenant, string hashKey, float[] vector, bool query = false) =>
        _cache.Set(new CacheKey(tenant, hashKey, query), vector, new MemoryCacheEntryOptions { Size = vector.Length * sizeof(float) + 64 });

    /// <summary>A released text's vectors (as document and as query) leave the cache.</summary>
    internal void Forget(string tenant, byte[] hash)
    {
        var key = Convert.ToHexString(hash);
        _cache.Remove(new CacheKey(tenant, key, Query: false));
        _cache.Remove(new CacheKey(tenant, key, Query: true));
    }

    private async Task<List<(byte[] Hash, float[] Vector)>> LoadAsync(string tenant, List<byte[]> hashes, CancellationToken ct)
    {
        await using var session = _store.Value.QuerySession(tenant);
        var found = await session.LoadManyAsync<EmbeddingVector>(ct, hashes.Select(h => EmbeddingVector.IdOf(ModelId, h)));
        return [.. found.Select(v => (Convert.FromHexString(v.Hash), v.Vector))];
    }

    private static float[] Normalize(float[] vector)
    {
        var norm = TensorPrimitives.Norm(vector);
        if (norm > 0)
        {
            TensorPrimitives.Divide(vector, norm, vector);
        }
        return vector;
    }

    public void Dispose() => _cache.Dispose();

    private readonly record struct CacheKey(string Tenant, string Hash, bool Query);
}
