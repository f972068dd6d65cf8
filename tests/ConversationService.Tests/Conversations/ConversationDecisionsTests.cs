using ConversationService.Conversations;
using ConversationService.Hosting;

namespace ConversationService.Tests.Conversations;

/// <summary>The write-side rules are pure functions: no service or database needed.</summary>
public sealed class ConversationDecisionsTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly ConversationState Existing = new(true, false, 5, "gpt-4o", null, null, 4);

    private static AppendDecision Decide(ConversationState state, long? expected, NewTurn[] turns, params TurnRow[] stored) =>
        ConversationDecisions.DecideAppend("t", "c", state, expected, turns, stored.ToDictionary(s => s.Id), true, "o200k_base",
            t => t.Content.Length, Now);

    private static NewTurn Turn(string id, string content = "x") => new(id, "user", content, null, null, null);

    private static TurnRow Stored(string id, int index, string content = "x", long version = 3) =>
        new(id, index, "user", content, null, Now, 7, "o200k_base", version, null);

    [Fact]
    public void Given_a_new_conversation_When_deciding_an_append_Then_it_starts_the_conversation_first()
    {
        var decision = Assert.IsType<AppendDecision.Accepted>(
            Decide(new ConversationState(false, false, 0, "gpt-4o", null, null, 0), null, [Turn("a"), Turn("b")]));

        Assert.IsType<ConversationStarted>(decision.Events[0]);
        Assert.Equal([1, 2], decision.Events.OfType<TurnAppended>().Select(e => e.Index));
    }

    [Fact]
    public void Given_all_turns_stored_When_deciding_with_a_stale_if_match_Then_the_original_result_is_replayed()
    {
        var decision = Assert.IsType<AppendDecision.Accepted>(Decide(Existing, 1, [Turn("a")], Stored("a", 2)));

        Assert.Empty(decision.Events);
        Assert.Equal(new AppendedTurn("a", 2, 7), decision.Turns[0]);
        Assert.Equal(3, decision.ReplayVersion);
    }

    [Fact]
    public void Given_a_stored_id_with_other_content_When_deciding_Then_turn_id_conflict_names_the_field()
    {
        var decision = Assert.IsType<AppendDecision.TurnIdConflict>(Decide(Existing, null, [Turn("n"), Turn("a", "y")], Stored("a", 2)));
        Assert.Equal("turns[1].id", decision.Field);
    }

    [Fact]
    public void Given_a_stale_if_match_with_new_turns_When_deciding_Then_version_conflict()
    {
        var decision = Assert.IsType<AppendDecision.VersionConflict>(Decide(Existing, 4, [Turn("n")]));
        Assert.Equal((4L, 5L), (decision.Expected, decision.Actual));
    }

    [Fact]
    public void Given_an_archived_stream_When_deciding_Then_not_found()
    {
        Assert.IsType<AppendDecision.NotFound>(Decide(Existing with { Archived = true }, null, [Turn("n")]));
    }

    [Fact]
    public void Given_a_mix_of_stored_and_new_turns_When_deciding_Then_new_ones_continue_the_index()
    {
        var decision = Assert.IsType<AppendDecision.Accepted>(Decide(Existing, 5, [Turn("a"), Turn("n", "xyz")], Stored("a", 2)));

        var appended = Assert.Single(decision.Events.OfType<TurnAppended>());
        Assert.Equal((5, 3), (appended.Index, appended.Tokens));
        Assert.Equal([2, 5], decision.Turns.Select(t => t.Index));
    }

    [Theory]
    [InlineData(null, true, null)]
    [InlineData("\"7\"", true, 7L)]
    [InlineData("7", true, 7L)]
    [InlineData("W/\"7\"", false, null)]
    [InlineData("\"x\"", false, null)]
    [InlineData("\"-1\"", false, null)]
    public void Given_an_if_match_header_When_parsed_Then_only_plain_versions_are_accepted(string? header, bool ok, long? version)
    {
        Assert.Equal(ok, ConversationDecisions.TryParseIfMatch(header, out var parsed));
        Assert.Equal(version, parsed);
    }

    [Fact]
    public void Given_content_one_byte_over_the_limit_When_validated_Then_the_error_is_too_large()
    {
        var limits = new LimitsOptions { MaxContentBytes = 4 };
        var errors = new TurnRules(() => limits).Validate(new TurnInput(null, "user", "ééé", null, null, null)).Errors;

        var error = Assert.Single(errors);
        Assert.Equal("content", error.PropertyName, ignoreCase: true);
        Assert.Equal(ValidationProblems.TooLarge, error.ErrorCode);
    }

    [Fact]
    public void Given_unchanged_settings_When_deciding_a_put_Then_no_event()
    {
        var decision = ConversationDecisions.DecideSettings("t", "c", Existing, null, null, "gpt-4o", null, "gpt-4o", Now);
        Assert.Null(Assert.IsType<SettingsDecision.Changed>(decision).Event);
    }
}
