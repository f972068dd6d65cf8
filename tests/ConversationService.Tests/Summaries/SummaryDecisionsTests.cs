using ConversationService.Summaries;
using ConversationService.Tokenizers;

namespace ConversationService.Tests.Summaries;

public sealed class SummaryDecisionsTests
{
    private static readonly ExactTiktokenTokenizer Tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");

    [Fact]
    public void Given_older_turns_below_the_threshold_When_deciding_Then_no_summary()
    {
        var turns = Enumerable.Range(1, 10).Select(i => (i, 100)).ToArray();

        Assert.Null(SummaryDecisions.SummarizeThrough(turns, recentWindowTokens: 500, thresholdTokens: 500));
    }

    [Fact]
    public void Given_older_turns_above_the_threshold_When_deciding_Then_summarize_through_the_last_turn_before_the_window()
    {
        var turns = Enumerable.Range(5, 12).Select(i => (i, 100)).ToArray(); // 5..16, 1,200 tokens

        // The newest 500 tokens (12..16) stay; 5..11 are 700 > 600.
        Assert.Equal(11, SummaryDecisions.SummarizeThrough(turns, recentWindowTokens: 500, thresholdTokens: 600));
    }

    [Fact]
    public void Given_one_turn_larger_than_the_window_When_deciding_Then_it_counts_as_older()
    {
        (int, int)[] turns = [(1, 3_000), (2, 10)];

        Assert.Equal(1, SummaryDecisions.SummarizeThrough(turns, recentWindowTokens: 2_000, thresholdTokens: 1_500));
    }

    [Fact]
    public void Given_a_provisional_summary_When_the_next_one_is_folded_Then_it_folds_into_the_real_summary_under_it()
    {
        var real = new CurrentSummary(7, "Alice booked room 104.", 6, "o200k_base");
        var provisional = new CurrentSummary(12, "Bob: room 105?", 5, "o200k_base", Provisional: true, Base: real.FoldBase);

        Assert.Equal(new SummaryBase(7, "Alice booked room 104."), real.FoldBase);
        Assert.Equal(real.FoldBase, provisional.FoldBase);
        Assert.Equal(SummaryBase.None, new CurrentSummary(3, "x", 1, "o200k_base", Provisional: true).FoldBase);
    }

    [Fact]
    public void Given_turns_When_summarized_extractively_Then_the_result_is_deterministic_within_the_cap_and_keeps_facts()
    {
        var turns = new List<SummaryTurn>
        {
            new(1, "user", null, "Hi there. I moved to Lisbon on 12 May 2023 with my sister Ana."),
            new(2, "assistant", null, "Nice. How is it going?"),
            new(3, "user", "Ben", "We decided to open the bakery in June. Should we hire two bakers or three?"),
            new(4, "assistant", null, "ok"),
        };

        var first = ExtractiveSummarizer.Summarize("user: I like tea.", turns, 60, Tokenizer);
        var second = ExtractiveSummarizer.Summarize("user: I like tea.", turns, 60, Tokenizer);

        Assert.Equal(first, second);
        Assert.True(Tokenizer.CountTokens(first) <= 60, first);
        Assert.Contains("user: I moved to Lisbon on 12 May 2023 with my sister Ana.", first);
        Assert.Contains("Ben: Should we hire two bakers or three?", first);
        Assert.DoesNotContain("ok", first.Split('\n'));
    }
}

public sealed class SummaryInputLimitTests
{
    [Theory]
    [InlineData(new[] { 40, 40, 40 }, 100, 2)]
    [InlineData(new[] { 500, 10 }, 100, 1)] // one oversize turn still goes, alone
    [InlineData(new[] { 10, 10 }, 100, 2)]
    public void Given_turn_sizes_When_taking_within_the_input_cap_Then_as_many_as_fit_and_at_least_one(int[] tokens, int max, int expected)
    {
        Assert.Equal(expected, SummaryDecisions.TakeWithin(tokens, max));
    }
}
