using System.Buffers;
using ConversationService.Relevance;

namespace ConversationService.Context;

/// <summary>
/// Relevance of turns, knowledge chunks and examples to a query: BM25 and vector cosine fused on an absolute
/// 0..1 scale, so a fixed threshold leaves out what does not match even when budget remains.
/// </summary>
public static class Ranking
{
    /// <summary>A turn below this fused score (after smoothing) is not recalled.</summary>
    public const float TurnThreshold = 0.01f;

    /// <summary>A knowledge chunk below this is not served, however much budget is left.</summary>
    public const float ChunkThreshold = 0.08f;

    /// <summary>An example whose input is less similar than this to the query is not served.</summary>
    public const float ExampleThreshold = 0.1f;

    /// <summary>A turn gains this share of its stronger neighbour's score in the same session (an answer follows its question).</summary>
    public const float NeighbourWeight = 0.5f;

    /// <summary>Items at least this alike (cosine) count as duplicates; only the better one is kept.</summary>
    public const float DuplicateSimilarity = 0.95f;

    private static readonly FusionWeights LexicalOnly = new(1f, 0f, 0f);

    public static string[] QueryTerms(string? query) =>
        string.IsNullOrWhiteSpace(query) ? [] : Terms.Extract(query).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>A turn spoken by someone the query names scores this share higher.</summary>
    public const float SpeakerBoost = 0.3f;

    /// <summary>A turn gains this share of the best score in its session: talk about one thing clusters in a session.</summary>
    public const float SessionWeight = 0.4f;

    /// <summary>Pseudo-relevance feedback: the best <see cref="FeedbackDocs"/> turns lend their <see cref="FeedbackTerms"/> strongest new terms at this weight.</summary>
    public const float FeedbackWeight = 0.3f;

    public const int FeedbackDocs = 5;

    public const int FeedbackTerms = 5;

    /// <summary>
    /// Fused and neighbour-smoothed score of every turn of the index, plus a share of its session's best score.
    /// A turn whose own (smoothed) score is below <see cref="TurnThreshold"/> scores 0: the session share orders
    /// turns, it does not make an unrelated turn relevant.
    /// </summary>
    public static float[] Turns(ConversationIndex index, IReadOnlyList<string> query, float[]? queryVector, FusionWeights weights)
    {
        var count = index.Turns.Count;
        var cosine = Cosines(index.Vectors, queryVector, index.Norms);
        var fused = Fuse(index.Bm25, cosine, query, queryVector is not null ? weights : null);
        {
            var expanded = Feedback(index, query, fused);
            if (expanded.Count > query.Count)
            {
                var termWeights = expanded.Select((_, i) => i < query.Count ? 1f : FeedbackWeight).ToArray();
                fused = Fuse(index.Bm25, cosine, expanded, queryVector is not null ? weights : null, termWeights);
            }
        }
        {
            var named = new HashSet<string>(query, StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                if (named.Contains(index.SpeakerTerm(i)))
                {
                    fused[i] *= 1 + SpeakerBoost;
                }
            }
        }
        var sessions = index.Sessions;
        var sessionBest = new float[count == 0 ? 0 : sessions[^1] + 1];
        for (var i = 0; i < count; i++)
        {
            sessionBest[sessions[i]] = Math.Max(sessionBest[sessions[i]], fused[i]);
        }
        var smoothed = new float[count];
        for (var i = 0; i < count; i++)
        {
            var before = i > 0 && sessions[i - 1] == sessions[i] ? fused[i - 1] : 0f;
            var after = i + 1 < count && sessions[i + 1] == sessions[i] ? fused[i + 1] : 0f;
            var own = fused[i] + NeighbourWeight * Math.Max(before, after);
            smoothed[i] = own < TurnThreshold ? 0f : own + SessionWeight * sessionBest[sessions[i]];
        }
        return smoothed;
    }

    /// <summary>Pseudo-relevance feedback: the query plus the strongest new terms of its best-scoring turns.</summary>
    private static List<string> Feedback(ConversationIndex index, IReadOnlyList<string> query, float[] fused)
    {
        var top = Enumerable.Range(0, fused.Length).Where(i => fused[i] > 0).OrderByDescending(i => fused[i]).Take(FeedbackDocs);
        var known = new HashSet<string>(query, StringComparer.Ordinal);
        var candidates = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (var doc in top)
        {
            var bag = index.Bag(doc);
            for (var t = 0; t < bag.Terms.Count; t++)
            {
                var term = bag.Terms[t];
                if (!known.Contains(term) && term != index.SpeakerTerm(doc))
                {
                    candidates[term] = candidates.GetValueOrDefault(term) + index.Bm25.Idf(term) * bag.Counts[t];
                }
            }
        }
        return [.. query, .. candidates.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).Take(FeedbackTerms).Select(c => c.Key)];
    }

    /// <summary>
    /// Fused score of free-standing items (chunks, example inputs). BM25 runs over the items together with the
    /// conversation's turns: a handful of candidates alone gives meaningless document frequencies.
    /// <paramref name="items"/> indexes exactly the items, in the order of <paramref name="vectors"/>.
    /// </summary>
    public static float[] Items(
        Bm25Index items, VectorRows vectors, IReadOnlyList<string> query, float[]? queryVector,
        ConversationIndex background, FusionWeights weights)
    {
        var corpus = Bm25Index.Combine([items, background.Bm25]);
        // Pooled: at 100,000 chunks each of these is a large-object-heap array, and fresh ones per request mean
        // frequent full collections of a heap that holds the collections.
        var lexical = ArrayPool<float>.Shared.Rent(corpus.Count);
        var cosine = ArrayPool<float>.Shared.Rent(items.Count);
        try
        {
            var ceiling = corpus.Score(query, lexical);
            cosine.AsSpan(0, items.Count).Clear();
            if (queryVector is not null)
            {
                vectors.CosineAll(queryVector, cosine);
            }
            var fused = new float[items.Count];
            Fusion.Linear(lexical.AsSpan(0, items.Count), ceiling, cosine.AsSpan(0, items.Count),
                queryVector is not null ? weights.ForItems : LexicalOnly, fused);
            return fused;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(lexical);
            ArrayPool<float>.Shared.Return(cosine);
        }
    }

    private static float[] Cosines(IReadOnlyList<float[]?> vectors, float[]? queryVector, IReadOnlyList<float> norms)
    {
        var cosine = new float[vectors.Count];
        if (queryVector is not null)
        {
            Vectors.CosineAll(queryVector, vectors, cosine, norms);
        }
        return cosine;
    }

    private static float[] Fuse(
        Bm25Index bm25, float[] cosine, IReadOnlyList<string> query, FusionWeights? weights, IReadOnlyList<float>? termWeights = null)
    {
        var lexical = new float[bm25.Count];
        var ceiling = bm25.Score(query, lexical, termWeights);
        var fused = new float[bm25.Count];
        // Without a query vector the lexical score stands alone rather than being capped at its weight.
        Fusion.Linear(lexical, ceiling, cosine, weights ?? LexicalOnly, fused);
        return fused;
    }
}
