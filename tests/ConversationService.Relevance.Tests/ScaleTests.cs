namespace ConversationService.Relevance.Tests;

/// <summary>What ranking at scale changed must rank exactly as before: vector rows and the lazy MMR.</summary>
public sealed class VectorRowsTests
{
    [Fact]
    public void Given_vectors_with_gaps_and_mixed_sizes_When_ranked_as_rows_Then_every_cosine_is_bit_for_bit_the_per_item_one()
    {
        var random = new Random(5);
        float[]?[] vectors = [.. Enumerable.Range(0, 300).Select(i => i % 17 == 0 ? null
            : i % 29 == 0 ? new float[8]
            : Vector(random, i is > 100 and < 120 ? 6 : 8))];
        var query = Vector(random, 8);
        var expected = new float[vectors.Length];
        Vectors.CosineAll(query, vectors, expected);

        var rows = new VectorRows(vectors);
        var actual = new float[vectors.Length];
        rows.CosineAll(query, actual);
        var combined = VectorRows.Combine([new VectorRows(vectors[..150]), new VectorRows([]), new VectorRows(vectors[150..])]);
        var fromParts = new float[vectors.Length];
        combined.CosineAll(query, fromParts);

        Assert.Equal(expected, actual);
        Assert.Equal(expected, fromParts);
        Assert.Contains(expected, c => c != 0);
        for (var a = 0; a < vectors.Length; a += 7)
        {
            for (var b = 0; b < vectors.Length; b += 11)
            {
                var cosine = vectors[a] is { } x && vectors[b] is { } y ? Vectors.Cosine(x, y) : 0f;
                Assert.Equal(cosine, rows.Cosine(a, b));
                Assert.Equal(cosine, combined.Cosine(a, b));
            }
        }
    }

    internal static float[] Vector(Random random, int dimensions) =>
        [.. Enumerable.Range(0, dimensions).Select(_ => (float)random.NextDouble() - 0.3f)];
}

public sealed class LazyMmrTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Given_many_candidates_with_ties_and_duplicates_When_ordered_Then_the_order_is_that_of_comparing_all_at_every_pick(int seed)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, 6).Select(_ => VectorRowsTests.Vector(random, 16)).ToArray();
        // Clustered vectors, some exact copies (duplicates), scores rounded so that ties happen.
        float[]?[] vectors = [.. Enumerable.Range(0, 400).Select(i => i % 23 == 0 ? null
            : i % 9 == 0 ? centres[i % 6]
            : [.. centres[i % 6].Select(x => x + 0.4f * ((float)random.NextDouble() - 0.5f))])];
        float[] scores = [.. Enumerable.Range(0, 400).Select(_ => MathF.Round((float)random.NextDouble(), 2))];
        int[] candidates = [.. Enumerable.Range(0, 400).Where(i => scores[i] >= 0.3f)];

        foreach (var limit in new[] { 1, 10, candidates.Length })
        {
            var expected = Exhaustive(candidates, scores, vectors, 0.8f, 0.95f, limit);
            Assert.Equal(expected, Diversity.Mmr(candidates, scores, vectors, 0.8f, 0.95f, limit));
        }
        Assert.True(Exhaustive(candidates, scores, vectors, 0.8f, 0.95f, candidates.Length).Count < candidates.Length);
    }

    /// <summary>The MMR as it was before it became lazy: every remaining candidate compared at every pick.</summary>
    private static List<int> Exhaustive(
        int[] candidates, float[] scores, float[]?[] vectors, float lambda, float duplicateSimilarity, int limit)
    {
        var chosen = new List<int>();
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
                rest[j] = Math.Max(redundancy[i], vectors[picked] is { } a && vectors[left[j]] is { } b ? Vectors.Cosine(a, b) : 0f);
                j++;
            }
            redundancy = rest;
        }
        return chosen;
    }
}
