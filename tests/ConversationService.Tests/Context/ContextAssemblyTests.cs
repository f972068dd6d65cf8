using ConversationService.Context;
using ConversationService.Tokenizers;

namespace ConversationService.Tests.Context;

/// <summary>The assembly is pure: these run without the service or a database.</summary>
public sealed class ContextAssemblyTests
{
    private static readonly TiktokenTokenizer Tokenizer = TiktokenTokenizer.CreateForModel("gpt-4o");

    private static TurnContent Turn(int index, string role, string content) =>
        new(new TurnCost($"t{index}", index, role, null, Tokenizer.CountMessageTokens(role, content)), content);

    private static int Oracle(ContextWindow window) =>
        Tokenizer.CountChatTokens(window.Messages.Select(m => new ChatMessage(m.Role, m.Content, m.Name)));

    [Fact]
    public void Given_turns_that_all_fit_When_assembled_Then_all_are_in_order_and_tokens_match_the_chat_rule()
    {
        TurnContent[] turns = [Turn(1, "user", "a"), Turn(2, "assistant", "b"), Turn(3, "user", "c")];

        var (window, tooSmall) = ContextAssembly.Assemble(1000, "sys", null, turns, Tokenizer);

        Assert.Null(tooSmall);
        Assert.Equal(["sys", "a", "b", "c"], window!.Messages.Select(m => m.Content));
        Assert.Equal(Oracle(window), window.Tokens);
        Assert.Equal(["t1", "t2", "t3"], window.Sections.Single(s => s.Kind == "recent").Items.Select(i => i.Id));
    }

    [Fact]
    public void Given_a_tight_budget_When_assembled_Then_the_newest_turns_that_fit_are_kept_oldest_first()
    {
        TurnContent[] turns = [Turn(1, "user", "one two three"), Turn(2, "assistant", "four"), Turn(3, "user", "five")];
        var budget = 3 + turns[1].Turn.Tokens + turns[2].Turn.Tokens;

        var (window, _) = ContextAssembly.Assemble(budget, null, null, turns, Tokenizer);

        Assert.Equal(["four", "five"], window!.Messages.Select(m => m.Content));
        Assert.Equal(budget, window.Tokens);
    }

    [Fact]
    public void Given_an_oversize_older_turn_When_assembled_Then_it_and_everything_older_is_left_out()
    {
        TurnContent[] turns = [Turn(1, "user", "short"), Turn(2, "assistant", string.Concat(Enumerable.Repeat("long ", 500))), Turn(3, "user", "now")];

        var (window, _) = ContextAssembly.Assemble(200, null, null, turns, Tokenizer);

        Assert.Equal(["now"], window!.Messages.Select(m => m.Content));
    }

    [Fact]
    public void Given_assistant_turns_after_the_newest_user_turn_When_the_budget_is_tight_Then_the_user_turn_is_kept_first()
    {
        TurnContent[] turns = [Turn(1, "user", "question"), Turn(2, "assistant", string.Concat(Enumerable.Repeat("answer ", 100)))];

        var (window, _) = ContextAssembly.Assemble(50, null, null, turns, Tokenizer);

        Assert.Equal(["question"], window!.Messages.Select(m => m.Content));
    }

    [Fact]
    public void Given_a_newest_user_turn_too_big_When_assembled_Then_only_it_is_cut_to_the_exact_room_left()
    {
        var big = string.Join(' ', Enumerable.Range(0, 500).Select(i => $"w{i}"));
        TurnContent[] turns = [Turn(1, "assistant", "earlier"), Turn(2, "user", big)];

        var (window, _) = ContextAssembly.Assemble(100, "sys", null, turns, Tokenizer);

        Assert.Equal(2, window!.Messages.Count);
        Assert.StartsWith(window.Messages[1].Content, big);
        Assert.Equal(Oracle(window), window.Tokens);
        Assert.InRange(window.Tokens, 98, 100);
    }

    [Fact]
    public void Given_mandatory_parts_that_cannot_fit_When_assembled_Then_too_small_with_the_required_count()
    {
        var (window, tooSmall) = ContextAssembly.Assemble(10, "a long system prompt that needs many tokens", null, [Turn(1, "user", "hi")], Tokenizer);

        Assert.Null(window);
        Assert.True(tooSmall!.RequiredTokens > 10);
        Assert.Equal(10, tooSmall.AvailableTokens);
    }

    [Fact]
    public void Given_a_summary_When_assembled_Then_it_follows_the_system_prompt_as_its_own_section()
    {
        var (window, _) = ContextAssembly.Assemble(1000, "sys", "earlier they said hello", [Turn(5, "user", "hi")], Tokenizer);

        Assert.Equal(["system", "summary", "recent"], window!.Sections.Select(s => s.Kind));
        Assert.Equal(Oracle(window), window.Tokens);
    }

    [Fact]
    public void Given_no_turns_When_assembled_Then_only_the_system_prompt_is_returned()
    {
        var (window, _) = ContextAssembly.Assemble(100, "sys", null, [], Tokenizer);

        Assert.Equal(["system"], window!.Messages.Select(m => m.Role));
        Assert.Equal(Oracle(window), window.Tokens);
    }

    [Theory]
    [InlineData("héllo wörld 🤖🤖🤖 1234567890 ", 7)]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 3)]
    [InlineData("日本語のテキストを正しく切る必要があります。", 5)]
    public void Given_any_text_When_cut_Then_the_prefix_never_exceeds_the_limit(string text, int limit)
    {
        var cut = ContextAssembly.CutToTokens(string.Concat(Enumerable.Repeat(text, 5)), limit, Tokenizer);
        Assert.InRange(Tokenizer.CountTokens(cut), 1, limit);
    }
}
