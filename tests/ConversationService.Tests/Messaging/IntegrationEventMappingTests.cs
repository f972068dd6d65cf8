using ConversationService.EventStore;
using ConversationService.Messaging;
using ConversationService.Summaries;
using ConversationService.Usage;
using Contracts = ConversationService.Contracts;
using Stored = ConversationService.Conversations;

namespace ConversationService.Tests.Messaging;

public sealed class IntegrationEventMappingTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void Given_a_stored_turn_When_mapped_Then_the_contract_carries_the_envelope_and_every_field()
    {
        var turn = new Stored.TurnAppended("t1", 3, "user", "hi", "Ann", At, 7, "o200k_base", null);

        var message = IntegrationEvents.From(new StoredEvent(42, Guid.NewGuid(), "acme", "c1", 4, "turn_appended", turn, At));

        Assert.Equal(
            new Contracts.TurnAppended("acme", "c1", 4, 42, At, "t1", 3, "user", "hi", "Ann", At, 7, "o200k_base", null),
            message);
    }

    [Fact]
    public void Given_a_summary_from_the_summary_stream_When_mapped_Then_it_names_the_conversation()
    {
        var summary = new ConversationSummarized(1, 9, "text", 2, "o200k_base", "gpt-4.1-nano", new LlmUsage(10, 2, 3), 0.5m, At);

        var message = IntegrationEvents.From(
            new StoredEvent(1, Guid.NewGuid(), "acme", SummaryStream.Id("c1"), 1, "conversation_summarized", summary, At));

        var mapped = Assert.IsType<Contracts.ConversationSummarized>(message);
        Assert.Equal(("c1", 1, 9, new Contracts.LlmUsage(10, 2, 3)), (mapped.ConversationId, mapped.FromIndex, mapped.ThroughIndex, mapped.Usage));
    }

    [Fact]
    public void Given_an_internal_event_When_mapped_Then_it_is_not_published()
    {
        var budget = new DailyBudgetReached(new DateOnly(2026, 1, 2), 0.8m, 8, 10, At);

        Assert.Null(IntegrationEvents.From(new StoredEvent(1, Guid.NewGuid(), "acme", "budget/2026-01-02/80", 1, "daily_budget_reached", budget, At)));
    }
}
