using ConversationService.Summaries;

namespace ConversationService.Tests.Summaries;

public sealed class UncoveredTurnsTests
{
    private static readonly (string, string) Conversation = ("tenant-a", "c1");

    [Fact]
    public void Given_a_loaded_conversation_When_events_are_delivered_again_Then_each_turn_counts_once()
    {
        var state = new UncoveredTurns();
        // Loaded after turns 4 and 5 were stored: the batch that carries them is applied on top.
        state.Load(Conversation, covered: 3, [(4, 10), (5, 20)]);

        state.Appended(Conversation, 4, 10);
        state.Appended(Conversation, 5, 20);
        state.Appended(Conversation, 6, 30);
        state.Appended(Conversation, 6, 30);

        Assert.Equal([(4, 10), (5, 20), (6, 30)], state.Of(Conversation));
    }

    [Fact]
    public void Given_nothing_uncovered_at_load_When_older_events_arrive_Then_they_are_ignored()
    {
        var state = new UncoveredTurns();
        state.Load(Conversation, covered: 8, []);

        state.Appended(Conversation, 7, 10);
        state.Appended(Conversation, 9, 15);

        Assert.Equal([(9, 15)], state.Of(Conversation));
    }

    [Fact]
    public void Given_uncovered_turns_When_a_summary_or_request_covers_some_Then_only_later_ones_remain()
    {
        var state = new UncoveredTurns();
        state.Load(Conversation, covered: 0, [(1, 5), (2, 5), (3, 5), (4, 5)]);

        state.Covered(Conversation, 2);
        state.Covered(Conversation, 1); // an older summary arriving late changes nothing

        Assert.Equal([(3, 5), (4, 5)], state.Of(Conversation));
        state.Appended(Conversation, 2, 5);
        Assert.Equal([(3, 5), (4, 5)], state.Of(Conversation));
    }

    [Fact]
    public void Given_a_forgotten_or_unknown_conversation_When_turns_arrive_Then_nothing_is_kept_until_it_is_loaded()
    {
        var state = new UncoveredTurns();
        state.Load(Conversation, covered: 0, [(1, 5)]);

        state.Forget(Conversation);
        state.Appended(Conversation, 2, 5);

        Assert.False(state.Knows(Conversation));
        Assert.Empty(state.Of(Conversation));
        state.Load(Conversation, covered: 0, [(1, 5), (2, 5)]);
        state.Clear();
        Assert.False(state.Knows(Conversation));
    }
}
