namespace ConversationService.Relevance;

/// <summary>Maximal marginal relevance (Carbonell and Goldstein) with a hard cut for near-identical items.</summary>
public static class Diversity
{
    /// <inheritdoc cref="Mmr(IReadOnlyList{int}, IReadOnlyList{float}, Func{int, int, float}, float, float, int)"/>
    public static IEnumerable<int> Mmr(
        IReadOnlyList<int> candidates, IReadOnlyList<float> scores, IReadOnlyList<float[]?> vectors, float lambda,
        float duplicateSimilarity, int limit) =>
        Mmr(candidates, scores, (a, b) => vectors[a] is { } x && vectors[b] is { } y ? Vectors.Cosine(x, y) : 0f,
            lambda, duplicateSimilarity, limit);

    /// <summary>
    /// Orders the candidates (indexes into <paramref name="scores"/>) by relevance minus redundancy with what is
    /// already chosen: λ·score − (1−λ)·max similarity to a chosen item; ties go to the earlier candidate. A candidate
    /// at least <paramref name="duplicateSimilarity"/> alike to a chosen one is dropped outright. Stops at
    /// <paramref name="limit"/>. Lazy, so a caller that stops early (packing a full budget) pays only for what it took:
    /// redundancy is brought up to date only for candidates a pick looks at, and a pick looks only at candidates whose
    /// λ·score (their value without redundancy) can still beat the best so far, best score first. The order is the
    /// one that comparing every candidate at every pick gives.
    /// </summary>
    public static IEnumerable<int> Mmr(
        IReadOnlyList<int> candidates, IReadOnlyList<float> scores, Func<int, int, float> similarity, float lambda,
        float duplicateSimilarity, int limit)
    {
        // Positions into candidates, best score first, then in candidate order.
        var order = new int[candidates.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        Array.Sort(order, (a, b) => scores[candidates[b]].CompareTo(scores[candidates[a]]) is var c and not 0 ? c : a.CompareTo(b));
        var redundancy = new float[order.Length];
        var counted = new int[order.Length]; // how many of the chosen items redundancy[k] has seen
        var done = new bool[order.Length]; // chosen or dropped as a duplicate
        var chosen = new List<int>();
        while (chosen.Count < limit)
        {
            var best = -1;
            var bestValue = float.NegativeInfinity;
            for (var k = 0; k < order.Length; k++)
            {
                if (done[k])
                {
                    continue;
                }
                var candidate = candidates[order[k]];
                if (lambda * scores[candidate] < bestValue)
                {
                    break; // redundancy only lowers a value: nothing further down can win
                }
                for (; counted[k] < chosen.Count; counted[k]++)
                {
                    redundancy[k] = Math.Max(redundancy[k], similarity(chosen[counted[k]], candidate));
                }
                if (redundancy[k] >= duplicateSimilarity)
                {
                    done[k] = true;
                    continue;
                }
                var value = lambda * scores[candidate] - (1 - lambda) * redundancy[k];
                if (value > bestValue || value == bestValue && order[k] < order[best])
                {
                    (best, bestValue) = (k, value);
                }
            }
            if (best < 0)
            {
                yield break;
            }
            done[best] = true;
            chosen.Add(candidates[order[best]]);
            yield return candidates[order[best]];
        }
    }
}
