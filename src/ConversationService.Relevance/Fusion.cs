namespace ConversationService.Relevance;

/// <summary>Ways to combine the lexical and the vector score of the same items into one.</summary>
public static class Fusion
{
    /// <summary>
    /// Weighted sum on an absolute scale: BM25 divided by the query's ceiling (the score of a document holding
    /// every query term many times) and the cosine clipped at 0. Absolute, unlike rank fusion, so one threshold
    /// means the same for every query and an irrelevant query scores near 0 everywhere.
    /// </summary>
    public static void Linear(
        ReadOnlySpan<float> bm25, float ceiling, ReadOnlySpan<float> cosine, float lexicalWeight, Span<float> into)
    {
        var lexicalScale = ceiling > 0 ? lexicalWeight / ceiling : 0f;
        var vectorWeight = 1f - lexicalWeight;
        for (var i = 0; i < into.Length; i++)
        {
            into[i] = bm25[i] * lexicalScale + vectorWeight * Math.Max(0f, cosine[i]);
        }
    }

    /// <summary>Reciprocal rank fusion (Cormack et al.): sum of 1 / (k + rank) over both rankings; 0 when neither matched.</summary>
    public static void Reciprocal(ReadOnlySpan<float> bm25, ReadOnlySpan<float> cosine, int k, Span<float> into)
    {
        into.Clear();
        AddRanks(bm25, k, into);
        AddRanks(cosine, k, into);
    }

    private static void AddRanks(ReadOnlySpan<float> scores, int k, Span<float> into)
    {
        var order = new int[scores.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        var keys = scores.ToArray();
        Array.Sort(keys, order, Comparer<float>.Create((a, b) => b.CompareTo(a)));
        for (var rank = 0; rank < order.Length && keys[rank] > 0; rank++)
        {
            into[order[rank]] += 1f / (k + rank + 1);
        }
    }
}
