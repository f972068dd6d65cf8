using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using ConversationService.Tests.Infrastructure;
using ConversationService.Tests.Messaging;
using ConversationService.Tests.Summaries;

namespace ConversationService.Tests.Usage;

[Collection(MessagingCollection.Name)]
public sealed class UsageTests(MessagingFixture fixture)
{
    [Fact]
    public async Task Given_context_requests_When_usage_is_read_Then_savings_are_the_tokens_not_served_at_the_models_input_price()
    {
        // Tenant b: its usage is this test's alone.
        using var api = fixture.Client(apiKey: ServiceFixture.TenantBKey);
        var from = DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O", CultureInfo.InvariantCulture);
        var id = ApiClient.NewId();
        await SummaryProbe.PostTurnsAsync(api, id, 30);

        var context = (await api.GetContextAsync(id, "budget=300&model=gpt-4o-mini")).Expect(HttpStatusCode.OK).Body;
        var served = context["tokens"]!.GetValue<long>();
        var full = context["fullHistoryTokens"]!.GetValue<long>();

        var savings = await WaitForSavingsAsync(api, from);
        Assert.Equal(1, savings["contextRequests"]!.GetValue<long>());
        Assert.Equal(served, savings["tokensServed"]!.GetValue<long>());
        Assert.Equal(full, savings["fullHistoryTokens"]!.GetValue<long>());
        Assert.Equal(full - served, savings["tokensSaved"]!.GetValue<long>());
        Assert.Equal((full - served) * 0.15m / 1_000_000m, savings["costSavedUsd"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Given_no_llm_calls_When_usage_is_read_by_call_type_Then_totals_are_zero()
    {
        using var api = fixture.Client(apiKey: ServiceFixture.TenantBKey);

        var usage = (await api.GetAsync("/usage?groupBy=callType")).Expect(HttpStatusCode.OK).Body;

        Assert.Equal("callType", usage["groupBy"]!.GetValue<string>());
        Assert.Equal(0, usage["totals"]!["calls"]!.GetValue<long>());
        Assert.Empty(usage["groups"]!.AsArray());
    }

    [Theory]
    [InlineData("groupBy=tenant", "groupBy")]
    [InlineData("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from")]
    public async Task Given_invalid_parameters_When_usage_is_read_Then_400_names_the_field(string query, string field)
    {
        using var api = fixture.Client();

        (await api.GetAsync("/usage?" + query)).ExpectFieldError(field);
    }

    [Fact]
    public async Task Given_no_key_When_usage_is_read_Then_401()
    {
        using var anonymous = new ApiClient(fixture.Factory.CreateClient());

        (await anonymous.GetAsync("/usage")).Expect(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("Llm:Endpoint", "ftp://example")]
    [InlineData("Summaries:ThresholdTokens", "0")]
    [InlineData("Messaging:PrefetchCount", "0")]
    public void Given_an_invalid_setting_When_the_service_starts_Then_it_refuses_naming_the_key(string key, string value)
    {
        ServiceEntryPoint.AssertRefusesToStart(fixture.StartSettings(new Dictionary<string, string?> { [key] = value }), key);
    }

    private static async Task<JsonNode> WaitForSavingsAsync(ApiClient api, string from)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var usage = (await api.GetAsync($"/usage?from={Uri.EscapeDataString(from)}")).Expect(HttpStatusCode.OK).Body;
            if (usage["savings"]!["contextRequests"]!.GetValue<long>() > 0 || DateTime.UtcNow > deadline)
            {
                return usage["savings"]!;
            }
            await Task.Delay(100);
        }
    }
}
