using ConversationService.Relevance;

namespace ConversationService.Context;

/// <summary>
/// Relevance of turns, knowledge chunks and examples to a query: BM25 and vector cosine fused on an absolute
/// 0..1 scale, so a fixed threshold leaves out what does not match even when budget remains.
/// </summary>
public static class Ranking
{
    /// <summary>Share of the fused score that comes from BM25; the rest from the cosine of the vectors.</summary>
    public const float LexicalWeight = 0.7f;

    /// <summary>A turn below this fused score (after smoothing) is not recalled.</summary>
    public const float TurnThreshold = 0.06f;

    /// <summary>A knowledge chunk below this is not served, however much budget is left.</summary>
    public const float ChunkThreshold = 0.12f;

    /// <summary>An example whose input is less similar than this to the query is not served.</summary>
    public const float ExampleThreshold = 0.15f;

    /// <summary>A turn gains this share of its stronger neighbour's score in the same session (an answer follows its question).</summary>
    public const float NeighbourWeight = 0.35f;

    /// <summary>Items at least this alike (cosine) count as duplicates; only the better one is kept.</summary>
    public const float DuplicateSimilarity = 0.95f;

    public static string[] QueryTerms(string? query) =>
        string.IsNullOrWhiteSpace(query) ? [] : Terms.Extract(query).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>Fused and neighbour-smoothed score of every turn of the index.</summary>
    public static float[] Turns(ConversationIndex index, IReadOnlyList<string> query, float[]? queryVector)
    {
        var count = index.Turns.Count;
        var fused = Fuse(index.Bm25, index.Vectors, query, queryVector);
        var smoothed = new float[count];
        var sessions = index.Sessions;
        for (var i = 0; i < count; i++)
        {
            var before = i > 0 && sessions[i - 1] == sessions[i] ? fused[i - 1] : 0f;
            var after = i + 1 < count && sessions[i + 1] == sessions[i] ? fused[i + 1] : 0f;
            smoothed[i] = fused[i] + NeighbourWeight * Math.Max(before, after);
        }
        return smoothed;
    }

    /// <summary>Fused score of free-standing items (chunks, example inputs), BM25 over the items themselves.</summary>
    public static float[] Items(IReadOnlyList<TermBag> bags, IReadOnlyList<float[]?> vectors, IReadOnlyList<string> query, float[]? queryVector) =>
        Fuse(new Bm25Index(bags), vectors, query, queryVector);

    private static float[] Fuse(Bm25Index bm25, IReadOnlyList<float[]?> vectors, IReadOnlyList<string> query, float[]? queryVector)
    {
        var count = bm25.Count;
        var lexical = new float[count];
        var ceiling = bm25.Score(query, lexical);
        var cosine = new float[count];
        if (queryVector is not null)
        {
            Vectors.CosineAll(queryVector, vectors, cosine);
        }
        var fused = new float[count];
        // Without a query vector the lexical score stands alone rather than being capped at its weight.
        Fusion.Linear(lexical, ceiling, cosine, queryVector is null ? 1f : LexicalWeight, fused);
        return fused;
    }
}
