using ConversationService.Evaluation.Scoring;
using ConversationService.Tokenizers;

namespace ConversationService.Evaluation.Tests;

public sealed class BaselinesTests
{
    private static readonly ExactTiktokenTokenizer Tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");

    private static readonly IReadOnlyList<CostedTurn> Turns = Baselines.Cost(
    [
        ("t1", "user", "I adopted a puppy named Max.", "Ann"),
        ("t2", "assistant", "I went hiking in the Alps with my sister, up the long trail above Zermatt, for three days in the rain.", "Bob"),
        ("t3", "user", "Pottery class is on Thursdays.", "Ann"),
        ("t4", "assistant", "Nice, see you soon.", "Bob"),
    ], Tokenizer);

    private static int Cost(string id) => Turns.Single(t => t.Id == id).Tokens;

    [Fact]
    public void Given_turns_When_costed_Then_each_costs_its_chat_format_tokens_including_the_name()
    {
        var expected = 3 + Tokenizer.CountTokens("user") + Tokenizer.CountTokens("I adopted a puppy named Max.") + Tokenizer.CountTokens("Ann") + 1;

        Assert.Equal(expected, Cost("t1"));
        Assert.Equal("Ann: I adopted a puppy named Max.", Turns[0].Text);
    }

    [Fact]
    public void Given_a_budget_for_the_two_newest_turns_When_truncating_Then_exactly_those_are_kept()
    {
        var budget = Baselines.ReplyPriming + Cost("t4") + Cost("t3");

        Assert.Equal(new HashSet<string> { "t3", "t4" }, Baselines.NewestThatFit(Turns, budget));
        Assert.Equal(new HashSet<string> { "t4" }, Baselines.NewestThatFit(Turns, budget - 1));
    }

    [Fact]
    public void Given_room_for_an_older_short_turn_but_not_the_long_one_between_When_truncating_Then_the_window_stays_contiguous()
    {
        Assert.True(Cost("t2") > Cost("t1"));
        var budget = Baselines.ReplyPriming + Cost("t4") + Cost("t3") + Cost("t1");

        Assert.Equal(new HashSet<string> { "t3", "t4" }, Baselines.NewestThatFit(Turns, budget));
    }

    [Fact]
    public void Given_a_question_When_BM25_packs_Then_only_matching_turns_go_in()
    {
        var index = new Bm25Index(Turns);

        Assert.Equal(new HashSet<string> { "t1" }, Baselines.Bm25Packed(index, "What is the name of the puppy?", 10_000));
    }

    [Fact]
    public void Given_a_turn_that_does_not_fit_When_BM25_packs_Then_it_is_skipped_and_lower_scored_ones_still_go_in()
    {
        var index = new Bm25Index(Turns);
        var scores = index.Score("Ann puppy hiking");
        Assert.True(scores[0] > scores[1] && scores[1] > scores[2] && scores[2] > 0 && scores[3] == 0);
        var budget = Baselines.ReplyPriming + Cost("t1") + Cost("t3");

        Assert.Equal(new HashSet<string> { "t1", "t3" }, Baselines.Bm25Packed(index, "Ann puppy hiking", budget));
    }

    [Fact]
    public void Given_a_query_of_stop_words_When_scored_Then_no_turn_scores()
    {
        Assert.All(new Bm25Index(Turns).Score("What is the, and did you?"), s => Assert.Equal(0, s));
    }

    [Fact]
    public void Given_a_term_in_fewer_turns_When_scored_Then_it_weighs_more_than_a_common_one()
    {
        var index = new Bm25Index(Turns);

        // "ann" is in two turns (through the name), "pottery" in one; t3 holds each once.
        Assert.True(index.Score("pottery")[2] > index.Score("ann")[2]);
    }
}
