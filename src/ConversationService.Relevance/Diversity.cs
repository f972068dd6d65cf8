namespace ConversationService.Relevance;

/// <summary>Maximal marginal relevance (Carbonell and Goldstein) with a hard cut for near-identical items.</summary>
public static class Diversity
{
    /// <summary>
    /// Orders the candidates (indexes into <paramref name="scores"/>) by relevance minus redundancy with what is
    /// already chosen: λ·score − (1−λ)·max cosine to a chosen item. A candidate at least
    /// <paramref name="duplicateSimilarity"/> alike to a chosen one is dropped outright. Stops at <paramref name="limit"/>.
    /// </summary>
    public static List<int> Mmr(
        IReadOnlyList<int> candidates, ReadOnlySpan<float> scores, IReadOnlyList<float[]?> vectors, float lambda,
        float duplicateSimilarity, int limit)
    {
        var chosen = new List<int>(Math.Min(limit, candidates.Count));
        var left = new List<int>(candidates);
        var redundancy = new float[left.Count];
        while (chosen.Count < limit && left.Count > 0)
        {
            var best = -1;
            var bestValue = float.NegativeInfinity;
            for (var i = 0; i < left.Count; i++)
            {
                var value = lambda * scores[left[i]] - (1 - lambda) * redundancy[i];
                if (redundancy[i] < duplicateSimilarity && value > bestValue)
                {
                    (best, bestValue) = (i, value);
                }
            }
            if (best < 0)
            {
                break;
            }
            var picked = left[best];
            chosen.Add(picked);
            left.RemoveAt(best);
            var rest = new float[left.Count];
            for (int i = 0, j = 0; i < redundancy.Length; i++)
            {
                if (i == best)
                {
                    continue;
                }
                rest[j] = Math.Max(redundancy[i], Similarity(vectors[picked], vectors[left[j]]));
                j++;
            }
            redundancy = rest;
        }
        return chosen;
    }

    private static float Similarity(float[]? a, float[]? b) => a is null || b is null ? 0f : Vectors.Cosine(a, b);
}
