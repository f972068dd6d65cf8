using ConversationService.Evaluation.Scoring;
using ConversationService.Evaluation.Service;

namespace ConversationService.Evaluation.Tests;

public sealed class PrefixStabilityTests
{
    private static readonly ContextMessage System = new("system", "You are helpful.");
    private static readonly ContextMessage A = new("user", "first turn", "Ann");
    private static readonly ContextMessage B = new("assistant", "second turn, longer", "Bob");
    private static readonly ContextMessage C = new("user", "third", "Ann");

    private static int Length(ContextMessage m) => m.Content.Length;

    [Fact]
    public void Given_a_context_that_only_grew_at_the_end_When_compared_Then_all_of_it_is_a_shared_prefix()
    {
        Assert.Equal(1.0, PrefixStability.SharedPrefixShare([System, A, B], [System, A, B, C], Length));
    }

    [Fact]
    public void Given_a_changed_message_in_the_middle_When_compared_Then_only_the_messages_before_it_count()
    {
        var share = PrefixStability.SharedPrefixShare([System, A, B], [System, A with { Content = "edited" }, B], Length);

        Assert.Equal(Length(System) / (double)(Length(System) + Length(A) + Length(B)), share, 12);
    }

    [Fact]
    public void Given_a_window_that_slid_When_compared_Then_nothing_is_shared()
    {
        Assert.Equal(0, PrefixStability.SharedPrefixShare([A, B, C], [B, C, A], Length));
    }

    [Fact]
    public void Given_the_same_text_under_another_name_When_compared_Then_it_is_not_the_same_message()
    {
        Assert.Equal(0, PrefixStability.SharedPrefixShare([A], [A with { Name = "Bob" }], Length));
    }
}
