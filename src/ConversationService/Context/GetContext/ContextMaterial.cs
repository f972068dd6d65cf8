using ConversationService.Relevance;

namespace ConversationService.Context.GetContext;

/// <summary>
/// The query-relevant material a context can hold besides the conversation: knowledge chunks and examples, and how the
/// vectors' cosine is fused with BM25.
/// </summary>
public sealed record Material(float[]? QueryVector, KnowledgeSet Knowledge, IReadOnlyList<ExampleItem> Examples, FusionWeights Fusion);

/// <summary>Reads the material a request asks for: the query's vector, the caller's candidates and named collections, examples.</summary>
public sealed class ContextMaterial(ContextVectors vectors, KnowledgeIndexCache knowledge, ExampleIndexCache examples)
{
    public async Task<Material> ReadAsync(
        string tenant, Request request, string? queryText, IReadOnlyList<KnowledgeItem> candidates, CancellationToken ct)
    {
        var queryVector = await vectors.QueryAsync(tenant, request.ConversationId, queryText, ct);
        var candidateVectors = await vectors.ForCandidatesAsync(tenant, [.. candidates.Select(c => c.Text)], ct);
        var given = KnowledgeSet.Of([.. candidates.Select((c, i) => c with { Vector = candidateVectors[i] })]);
        var knowledgeSet = request.Collections is { } collections
            ? KnowledgeSet.Combine([given, await knowledge.GetAsync(tenant, Request.CollectionNames(collections), ct)])
            : given;
        var exampleItems = request.Examples is > 0 ? await examples.GetAsync(tenant, request.Task, ct) : [];
        return new Material(queryVector, knowledgeSet, exampleItems, vectors.Fusion);
    }
}
