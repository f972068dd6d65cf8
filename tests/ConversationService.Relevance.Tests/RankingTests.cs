namespace ConversationService.Relevance.Tests;

public sealed class Bm25IndexTests
{
    private static Bm25Index Index(params string[] texts) => new(texts.Select(TermBag.Of).ToArray());

    [Fact]
    public void Given_documents_When_scored_Then_the_one_with_the_rare_term_ranks_first_and_unrelated_ones_score_zero()
    {
        var index = Index("the dog barked at the mailman", "the dog slept", "pottery class on tuesday", "the dog and the cat");
        var scores = new float[index.Count];

        var ceiling = index.Score(Terms.Extract("barking dog"), scores);

        Assert.Equal(0, Array.IndexOf(scores, scores.Max()));
        Assert.Equal(0f, scores[2]);
        Assert.All(scores, s => Assert.InRange(s, 0f, ceiling));
        Assert.True(index.Idf("bark") > index.Idf("dog"));
    }

    [Fact]
    public void Given_a_query_mostly_about_absent_terms_When_scored_Then_its_ceiling_keeps_a_common_word_match_low()
    {
        var index = Index("the dog slept", "the dog ran", "a cat");
        var present = new float[3];
        var absent = new float[3];

        var presentCeiling = index.Score(["dog"], present);
        var absentCeiling = index.Score(["dog", "quantum", "chromodynamics"], absent);

        Assert.Equal(present[0], absent[0]);
        Assert.True(absent[0] / absentCeiling < 0.3f * (present[0] / presentCeiling));
    }

    [Fact]
    public void Given_weights_When_scored_Then_a_term_counts_in_proportion_and_a_zero_weight_not_at_all()
    {
        var index = Index("alpha beta", "gamma");
        var full = new float[2];
        var half = new float[2];
        var none = new float[2];

        index.Score(["alpha"], full);
        index.Score(["alpha"], half, [0.5f]);
        index.Score(["alpha"], none, [0f]);

        Assert.Equal(full[0] / 2, half[0], 5);
        Assert.Equal(0f, none[0]);
    }

    [Fact]
    public void Given_indexes_of_parts_When_combined_Then_scores_ceiling_and_idf_equal_those_of_one_index_over_all_documents()
    {
        string[] first = ["the dog barked at the mailman", "a very long sentence about the dog and its many walks in the park"];
        string[] second = ["pottery class on tuesday", "the cat"];
        string[] third = ["dog"];
        var whole = Index([.. first, .. second, .. third]);
        var combined = Bm25Index.Combine([Index(first), Bm25Index.Combine([Index(second), Index(third)])]);
        string[] query = ["dog", "pottery", "walk", "absent"];
        var expected = new float[whole.Count];
        var actual = new float[combined.Count];

        var expectedCeiling = whole.Score(query, expected, [1f, 0.5f, 1f, 1f]);
        var actualCeiling = combined.Score(query, actual, [1f, 0.5f, 1f, 1f]);

        Assert.Equal(5, combined.Count);
        Assert.Equal(expected, actual);
        Assert.Equal(expectedCeiling, actualCeiling);
        Assert.All(query, term => Assert.Equal(whole.Idf(term), combined.Idf(term)));
        Assert.True(actual[4] > 0 && actual[2] > 0 && actual[3] == 0);
    }
}

public sealed class VectorsAndFusionTests
{
    [Fact]
    public void Given_vectors_of_odd_length_When_compared_Then_cosine_matches_the_scalar_formula()
    {
        var random = new Random(3);
        var a = Enumerable.Range(0, 37).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var b = Enumerable.Range(0, 37).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var expected = a.Zip(b, (x, y) => x * y).Sum() / MathF.Sqrt(a.Sum(x => x * x) * b.Sum(x => x * x));

        Assert.Equal(expected, Vectors.Cosine(a, b), 4);
        Assert.Equal(1f, Vectors.Cosine(a, a), 4);
        Assert.Equal(0f, Vectors.Cosine(a, b.AsSpan(0, 10)));
        var all = new float[3];
        Vectors.CosineAll(a, [a, null, new float[37]], all);
        Assert.Equal([1f, 0f, 0f], all.Select(x => MathF.Round(x, 4)));
    }

    [Fact]
    public void Given_scores_When_fused_linearly_Then_the_scale_is_absolute_and_cosines_under_the_floor_add_nothing()
    {
        var fused = new float[3];

        Fusion.Linear([10f, 5f, 0f], 10f, [1f, 0.2f, 0.1f], new FusionWeights(0.8f, 0.2f, 0.2f), fused);

        Assert.Equal(1f, fused[0], 4);
        Assert.Equal(0.4f, fused[1], 4);
        Assert.Equal(0f, fused[2]);
    }
}

public sealed class DiversityAndPackingTests
{
    [Fact]
    public void Given_near_duplicates_When_ordered_by_mmr_Then_only_the_better_copy_is_kept_and_a_diverse_item_comes_before_a_similar_one()
    {
        float[] x = [1, 0, 0], xCopy = [1, 0, 0], xLike = [0.9f, 0.44f, 0], y = [0, 0, 1];

        var order = Diversity.Mmr([0, 1, 2, 3], [0.9f, 0.85f, 0.8f, 0.7f], [x, xCopy, xLike, y], 0.5f, 0.95f, 10);

        Assert.Equal([0, 3, 2], order);
    }

    [Fact]
    public void Given_candidates_When_packed_Then_they_fit_the_capacity_pay_a_group_cost_once_and_skip_what_does_not_fit()
    {
        PackCost[] costs = [new(10, 0), new(10, 0), new(50), new(5, 1)];

        var taken = Packing.Greedy([0, 1, 2, 3], i => costs[i], 33, [3, 3]);

        Assert.Equal([0, 1, 3], taken);
    }

    [Fact]
    public void Given_a_full_capacity_When_many_candidates_remain_Then_they_are_not_costed()
    {
        var costed = 0;

        Packing.Greedy(Enumerable.Range(0, 1000), _ => { costed++; return new PackCost(10); }, 5);

        Assert.Equal(Packing.GiveUpAfter, costed);
    }
}

public sealed class TextTests
{
    [Theory]
    [InlineData("paintings", "painting")]
    [InlineData("painted", "paint")]
    [InlineData("stories", "story")]
    [InlineData("running", "run")]
    public void Given_inflections_When_stemmed_Then_they_meet(string a, string b) =>
        Assert.Equal(Terms.Stem(a), Terms.Stem(b));

    [Fact]
    public void Given_text_When_terms_are_extracted_Then_stop_words_go_and_case_folds() =>
        Assert.Equal(["caroline", "support", "group"], Terms.Extract("When did Caroline go to THE support group?").Where(t => t != "go"));

    [Fact]
    public void Given_a_long_text_When_excerpted_Then_only_matching_sentences_remain_with_ellipses()
    {
        var weights = new Dictionary<string, float> { ["pottery"] = 3f, ["class"] = 1f };

        var excerpt = Excerpts.Best(SentenceTerms.Of("We went to the beach. Then I took a pottery class! It rained. [shares a photo: a mug]"), weights);

        Assert.Equal("… Then I took a pottery class! …", excerpt);
        Assert.Equal("One sentence only.", Excerpts.Best(SentenceTerms.Of("One sentence only."), weights));
        Assert.Equal(4, Excerpts.Sentences("A b. C d! E? [shares a photo: x]").Count);
    }

    [Fact]
    public void Given_the_offline_embedder_When_texts_are_embedded_Then_vectors_are_unit_length_deterministic_and_closer_for_shared_words()
    {
        var embedder = new LexicalEmbeddingGenerator();

        var a = embedder.Embed("I adopted a dog from the shelter");
        var b = embedder.Embed("We adopted two dogs last year");
        var c = embedder.Embed("Quarterly revenue grew by ten percent");

        Assert.Equal(1f, MathF.Sqrt(a.Sum(x => x * x)), 4);
        Assert.Equal(a, embedder.Embed("I adopted a dog from the shelter"));
        Assert.True(Vectors.Cosine(a, b) > Vectors.Cosine(a, c) + 0.2f);
        Assert.True(Vectors.Cosine(a, c) < FusionWeights.LexicalHash.CosineFloor);
    }
}
