using ConversationService.Evaluation.Scoring;
using ConversationService.Evaluation.Service;

namespace ConversationService.Evaluation.Tests;

public sealed class MetricsTests
{
    [Fact]
    public void Given_two_of_three_evidence_ids_in_the_context_When_recall_is_computed_Then_it_is_two_thirds()
    {
        var recall = Metrics.Recall(["D1:1", "D1:2", "D3:4"], new HashSet<string> { "D1:2", "D3:4", "D9:9" });

        Assert.Equal(2 / 3.0, recall, 12);
    }

    [Fact]
    public void Given_no_evidence_When_recall_is_computed_Then_it_is_refused()
    {
        Assert.Throws<ArgumentException>(() => Metrics.Recall([], new HashSet<string> { "D1:1" }));
    }

    [Fact]
    public void Given_a_context_When_its_turn_ids_are_read_Then_only_recent_and_recalled_items_count()
    {
        var context = new ContextResponse("c", 3, 100, 90, 500, [],
        [
            new ContextSection("system", 10, []),
            new ContextSection("summary", 20, [new SectionItem("summary")]),
            new ContextSection("recalled", 20, [new SectionItem("D1:1", 0.7)]),
            new ContextSection("knowledge", 20, [new SectionItem("D1:5")]),
            new ContextSection("recent", 20, [new SectionItem("D4:1"), new SectionItem("D4:2")]),
        ]);

        Assert.Equal(new HashSet<string> { "D1:1", "D4:1", "D4:2" }, context.TurnIds());
    }

    [Theory]
    [InlineData(50, 5.5)]
    [InlineData(95, 9.55)]
    [InlineData(0, 1)]
    [InlineData(100, 10)]
    public void Given_one_to_ten_When_a_percentile_is_taken_Then_it_interpolates_between_ranks(double percentile, double expected)
    {
        var values = Enumerable.Range(1, 10).Select(i => (double)i).Reverse();

        Assert.Equal(expected, Metrics.Percentile(values, percentile), 9);
    }

    [Fact]
    public void Given_one_or_no_values_When_a_percentile_is_taken_Then_it_is_that_value_or_zero()
    {
        Assert.Equal(7, Metrics.Percentile([7], 95));
        Assert.Equal(0, Metrics.Percentile([], 50));
    }
}
