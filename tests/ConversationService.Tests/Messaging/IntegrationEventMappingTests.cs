using ConversationService.Knowledge;
using ConversationService.Messaging;
using JasperFx.Events;
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

        var message = IntegrationEvents.From(Stored(42, "acme", "c1", 4, turn));

        Assert.Equal(
            new Contracts.TurnAppended("acme", "c1", 4, 42, At, "t1", 3, "user", "hi", "Ann", At, 7, "o200k_base", null),
            message);
    }

    [Fact]
    public void Given_a_summary_from_the_summary_stream_When_mapped_Then_it_names_the_conversation()
    {
        var summary = new ConversationSummarized(1, 9, "text", 2, "o200k_base", "gpt-4.1-nano", new Contracts.LlmUsage(10, 2, 3), 0.5m, At);

        var message = IntegrationEvents.From(Stored(1, "acme", SummaryStream.Id("c1"), 1, summary));

        var mapped = Assert.IsType<Contracts.ConversationSummarized>(message);
        Assert.Equal(("c1", 1, 9, new Contracts.LlmUsage(10, 2, 3)), (mapped.ConversationId, mapped.FromIndex, mapped.ThroughIndex, mapped.Usage));
    }

    [Fact]
    public void Given_a_budget_alert_When_mapped_Then_it_names_the_tenant_day_and_share()
    {
        var budget = new DailyBudgetReached(new DateOnly(2026, 1, 2), 0.8m, 8, 10, At);

        var message = IntegrationEvents.From(Stored(5, "acme", "budget/2026-01-02/80", 1, budget));

        Assert.Equal(new Contracts.DailyBudgetReached("acme", new DateOnly(2026, 1, 2), 0.8m, 8, 10, 5, At), message);
    }

    [Fact]
    public void Given_an_internal_event_When_mapped_Then_it_is_not_published()
    {
        var indexed = new DocumentIndexed("guides", "d1", "text", null, 1, [], At);

        Assert.Null(IntegrationEvents.From(Stored(1, "acme", DocumentStream.Id("guides", "d1"), 1, indexed)));
    }

    /// <summary>An event as Marten hands it to the publisher: the data with its stream, position and tenant.</summary>
    private static Event<T> Stored<T>(long sequence, string tenant, string stream, long version, T data) where T : notnull =>
        new Event<T>(data) { Sequence = sequence, TenantId = tenant, StreamKey = stream, Version = version, Timestamp = At };
}
