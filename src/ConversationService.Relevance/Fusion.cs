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
}
