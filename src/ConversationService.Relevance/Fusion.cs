namespace ConversationService.Relevance;

/// <summary>
/// How one kind of vectors is fused with BM25, as measured for it: <paramref name="Lexical"/> is the share of a turn's
/// score that comes from BM25, the rest from the cosine above <paramref name="CosineFloor"/>. <paramref name="UnrelatedCosine"/>
/// is what unrelated texts reach anyway (hash collisions, or a model's baseline): free-standing items (knowledge chunks)
/// are served by a threshold, so for them the cosine counts only above it (<see cref="ForItems"/>). Turns are ordered
/// and the budget cuts them, so a model's cosine may order them over its whole range.
/// </summary>
public sealed record FusionWeights(float Lexical, float CosineFloor, float UnrelatedCosine)
{
    /// <summary>The lexical hash: word overlap, which BM25 already sees, so it mostly breaks ties.</summary>
    public static FusionWeights LexicalHash { get; } = new(0.85f, 0.2f, 0.2f);

    /// <summary>For items kept or left out by a threshold: the cosine counts only above the unrelated level.</summary>
    public FusionWeights ForItems => this with { CosineFloor = Math.Max(CosineFloor, UnrelatedCosine) };
}

/// <summary>Ways to combine the lexical and the vector score of the same items into one.</summary>
public static class Fusion
{
    /// <summary>
    /// Weighted sum on an absolute scale: BM25 divided by the query's ceiling (the score of a document holding
    /// every query term many times) and the cosine above the floor, rescaled to 0..1. Absolute,
    /// unlike rank fusion (which measured worse on LoCoMo: recall@2000 0.89 against 0.92), so one threshold means
    /// the same for every query and an irrelevant query scores 0 everywhere.
    /// </summary>
    public static void Linear(
        ReadOnlySpan<float> bm25, float ceiling, ReadOnlySpan<float> cosine, FusionWeights weights, Span<float> into)
    {
        var lexicalScale = ceiling > 0 ? weights.Lexical / ceiling : 0f;
        var vectorScale = (1f - weights.Lexical) / (1f - weights.CosineFloor);
        for (var i = 0; i < into.Length; i++)
        {
            into[i] = bm25[i] * lexicalScale + vectorScale * Math.Max(0f, cosine[i] - weights.CosineFloor);
        }
    }
}
