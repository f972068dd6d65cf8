using ConversationService.Embeddings;
using ConversationService.Relevance;
using Microsoft.Extensions.AI;

namespace ConversationService.Context;

/// <summary>
/// Vectors for ranking on the request path. With the offline embedder, texts are embedded in process (cheaper than
/// reading them back); with a provider, only stored vectors are used (the projection embeds turns, chunks and
/// example inputs off the request path) and an item without one is ranked lexically.
/// </summary>
public sealed class ContextVectors(EmbeddingStore store, IEmbeddingGenerator<string, Embedding<float>> generator)
{
    private readonly LexicalEmbeddingGenerator? _local = store.IsLocal ? generator as LexicalEmbeddingGenerator : null;

    /// <summary>How ranking fuses these vectors' cosine with BM25.</summary>
    public FusionWeights Fusion => store.Fusion;

    /// <summary>Whether a missing vector may still arrive (from the embedding projection).</summary>
    public bool Stored => _local is null;

    public async Task<float[]?[]> ForAsync(string tenant, IReadOnlyList<string> texts, CancellationToken ct) =>
        _local is not null
            ? texts.Select(t => (float[]?)_local.Embed(t)).ToArray()
            : texts.Count == 0 ? [] : await store.GetVectorsAsync(tenant, texts, ct);

    /// <summary>
    /// The caller's own candidates are never stored: embedded in process by the lexical hash or the local model (cached
    /// by text, so a candidate passed again costs nothing), ranked lexically with a provider.
    /// </summary>
    public async Task<float[]?[]> ForCandidatesAsync(string tenant, IReadOnlyList<string> texts, CancellationToken ct) =>
        _local is not null ? [.. texts.Select(t => (float[]?)_local.Embed(t))]
        : texts.Count == 0 ? []
        : await store.EmbedTransientAsync(tenant, texts, ct);

    /// <summary>Null when the provider fails or is slow: the context then ranks lexically.</summary>
    public Task<float[]?> QueryAsync(string tenant, string conversationId, string? text, CancellationToken ct) =>
        string.IsNullOrWhiteSpace(text) ? Task.FromResult<float[]?>(null) : store.EmbedQueryAsync(tenant, conversationId, text, ct);
}
