using System.Globalization;
using ConversationService.Contracts;
using ConversationService.Usage;

namespace ConversationService.Tests.Usage;

public sealed class PricingAndBudgetTests
{
    private static readonly LlmOptions Defaults = new();

    [Fact]
    public void Given_cached_input_When_priced_Then_cached_tokens_are_billed_at_the_cached_rate_only()
    {
        // gpt-4o: 2.50 in, 1.25 cached, 10.00 out per 1M.
        var cost = Pricing.Cost(Defaults.Prices, "gpt-4o", new LlmUsage(1_000_000, 400_000, 100_000));

        Assert.Equal(600_000 * 2.50m / 1_000_000 + 400_000 * 1.25m / 1_000_000 + 100_000 * 10m / 1_000_000, cost);
    }

    [Fact]
    public void Given_an_unknown_model_When_priced_Then_it_costs_nothing()
    {
        Assert.Equal(0m, Pricing.Cost(Defaults.Prices, "llama3", new LlmUsage(1_000, 0, 1_000)));
    }

    [Theory]
    [InlineData(0, 10, BudgetState.Within)]
    [InlineData(7.99, 10, BudgetState.Within)]
    [InlineData(8, 10, BudgetState.Warning)]
    [InlineData(10, 10, BudgetState.Exhausted)]
    [InlineData(1_000, 0, BudgetState.Within)] // no budget configured
    public void Given_spending_When_deciding_the_budget_Then_80_percent_warns_and_100_percent_stops(
        double spent, double budget, BudgetState expected)
    {
        Assert.Equal(expected, DailyBudget.Decide((decimal)spent, (decimal)budget));
    }

    [Theory]
    [InlineData(7.99, 10, "")]
    [InlineData(8, 10, "0.8")]
    [InlineData(25, 10, "0.8 1")] // one call past both levels: both are alerts
    [InlineData(1_000, 0, "")]
    public void Given_spending_When_asking_which_levels_it_reached_Then_each_share_at_or_below_it_counts(
        double spent, double budget, string expected)
    {
        Assert.Equal(expected, string.Join(' ', DailyBudget.Reached((decimal)spent, (decimal)budget).Select(s => s.ToString("0.#", CultureInfo.InvariantCulture))));
    }

    [Fact]
    public void Given_default_options_When_validated_Then_they_are_valid_and_the_cheapest_tier_is_first()
    {
        Assert.Empty(Defaults.Problems());
        Assert.Equal(["gpt-4.1-nano", "gpt-4o-mini"], Defaults.Tiers);
        Assert.False(Defaults.Enabled);
    }

    [Fact]
    public void Given_an_endpoint_that_is_not_http_When_validated_Then_the_problem_names_the_key()
    {
        var options = new LlmOptions { Endpoint = "ftp://example" };

        Assert.Contains(options.Problems(), p => p.StartsWith("Llm:Endpoint", StringComparison.Ordinal));
    }
}
