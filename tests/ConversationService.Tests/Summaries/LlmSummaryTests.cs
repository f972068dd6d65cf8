using System.Diagnostics;
using System.Net;
using ConversationService.Tests.Fakes;
using ConversationService.Tests.Infrastructure;
using ConversationService.Tests.Messaging;
using ConversationService.Summaries;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace ConversationService.Tests.Summaries;

/// <summary>The service with an LLM configured: the fake OpenAI-compatible server in this process.</summary>
public class LlmFixture : MessagingFixture
{
    public FakeOpenAiServer Llm { get; private set; } = null!;

    // The fake LLM fails, refuses and overspends on purpose: failed tiers, summaries that end in the error queue and
    // the daily budget warning are expected.
    protected override IReadOnlyDictionary<string, string?> Settings => ExpectedLogs.With(
        new Dictionary<string, string?>
        {
            ["Llm:Endpoint"] = Llm.Endpoint,
            ["Llm:ApiKey"] = "test-llm-key",
            ["Llm:MaxRetries"] = "2",
            ["Llm:RetryBaseDelay"] = "00:00:00.050",
            ["Llm:RequestTimeout"] = "00:00:02",
            ["Llm:BreakDuration"] = "00:00:00.500",
        },
        "ConversationService.Summaries.LlmSummarizer", "Microsoft.Extensions.AI", "MassTransit.ReceiveTransport",
        "ConversationService.Usage.DailyBudget");

    public override async Task InitializeAsync()
    {
        Llm = await FakeOpenAiServer.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Llm.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class LlmCollection : ICollectionFixture<LlmFixture>
{
    public const string Name = "llm";
}

[Collection(LlmCollection.Name)]
public sealed class LlmSummaryTests : IDisposable
{
    private readonly LlmFixture _fixture;
    private readonly ApiClient _api;
    // The instance that consumes this test's summary commands: one per test (started on first use), so its LLM
    // pipeline starts with the breaker closed and no failures sampled, whatever the tests before it did.
    private readonly WebApplicationFactory<Program> _summarizer;

    public LlmSummaryTests(LlmFixture fixture)
    {
        _fixture = fixture;
        _fixture.Llm.Reset();
        _api = fixture.Client();
        _summarizer = fixture.CreateFactory(new Dictionary<string, string?>
        {
            ["Messaging:EndpointPrefix"] = $"{fixture.EndpointPrefix}{Guid.NewGuid():N}"[..24] + "-",
        });
    }

    [Fact]
    public async Task Given_an_llm_When_a_summary_is_due_Then_the_cheap_tier_writes_it_at_temperature_0_and_usage_shows_its_cost()
    {
        var id = ApiClient.NewId();
        await SummaryProbe.PostTurnsAsync(_api, id, 10);
        _fixture.Llm.Enqueue(new FakeReply.Answer("Alice moved the review to room 104.", PromptTokens: 1_000, CachedTokens: 200, CompletionTokens: 50));

        await SummaryProbe.SendAsync(_summarizer, id, 6);

        var summary = Assert.Single(await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 1));
        Assert.Equal(("gpt-4.1-nano", "Alice moved the review to room 104."), (summary.Model, summary.Text));
        // 800 uncached * 0.10 + 200 cached * 0.025 + 50 out * 0.40, per 1M tokens.
        Assert.Equal(0.000105m, summary.CostUsd);
        var request = Assert.Single(_fixture.Llm.ChatRequests).Body;
        Assert.Equal(0, request["temperature"]!.GetValue<double>());
        Assert.Equal(200, (request["max_completion_tokens"] ?? request["max_tokens"])!.GetValue<int>());
        Assert.Contains(SummaryProbe.Sentence(6), request.ToJsonString().Replace("\\u0027", "'", StringComparison.Ordinal));
        Assert.DoesNotContain(SummaryProbe.Sentence(7), request.ToJsonString().Replace("\\u0027", "'", StringComparison.Ordinal));

        var usage = (await _api.GetAsync("/usage?groupBy=conversation")).Expect(HttpStatusCode.OK).Body;
        var group = usage["groups"]!.AsArray().Single(g => g!["key"]!.GetValue<string>() == id)!;
        Assert.Equal(1, group["calls"]!.GetValue<int>());
        Assert.Equal(1_000, group["inputTokens"]!.GetValue<int>());
        Assert.Equal(200, group["cachedInputTokens"]!.GetValue<int>());
        Assert.Equal(50, group["outputTokens"]!.GetValue<int>());
        Assert.Equal(0.000105m, group["costUsd"]!.GetValue<decimal>());
    }

    [Fact]
    public async Task Given_a_429_with_retry_after_then_success_When_summarizing_Then_it_waits_as_asked_and_stores_one_summary()
    {
        var id = ApiClient.NewId();
        await SummaryProbe.PostTurnsAsync(_api, id, 10);
        _fixture.Llm.Enqueue(new FakeReply.Status(429, RetryAfter: "1"));

        await SummaryProbe.SendAsync(_summarizer, id, 6);

        var summary = Assert.Single(await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 1));
        Assert.Equal("gpt-4.1-nano", summary.Model);
        var requests = _fixture.Llm.ChatRequests;
        Assert.Equal(2, requests.Count);
        Assert.True(requests[1].At - requests[0].At >= TimeSpan.FromMilliseconds(950), $"{requests[1].At - requests[0].At}");
        await Task.Delay(300);
        Assert.Single(await SummaryProbe.SummariesAsync(_fixture.ConnectionString, id));
    }

    [Fact]
    public async Task Given_a_provider_that_never_answers_once_When_summarizing_Then_the_attempt_times_out_and_the_retry_succeeds()
    {
        var id = ApiClient.NewId();
        await SummaryProbe.PostTurnsAsync(_api, id, 10);
        _fixture.Llm.Enqueue(new FakeReply.Never());

        await SummaryProbe.SendAsync(_summarizer, id, 6);

        var summary = Assert.Single(await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 1));
        Assert.Equal("gpt-4.1-nano", summary.Model);
        var requests = _fixture.Llm.ChatRequests;
        Assert.Equal(2, requests.Count);
        Assert.True(requests[1].At - requests[0].At >= TimeSpan.FromSeconds(1.5), $"the attempt waits for Llm:RequestTimeout: {requests[1].At - requests[0].At}");
    }

    [Fact]
    public async Task Given_an_empty_answer_from_the_cheap_tier_When_summarizing_Then_it_escalates_once_to_the_next_tier()
    {
        var id = ApiClient.NewId();
        await SummaryProbe.PostTurnsAsync(_api, id, 10);
        _fixture.Llm.Enqueue(new FakeReply.Answer(Content: ""));

        await SummaryProbe.SendAsync(_summarizer, id, 6);

        var summary = Assert.Single(await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 1));
        Assert.Equal("gpt-4o-mini", summary.Model);
        Assert.Equal(["gpt-4.1-nano", "gpt-4o-mini"], _fixture.Llm.ChatRequests.Select(r => r.Model));
    }

    [Fact]
    public async Task Given_a_refusal_from_the_cheap_tier_When_summarizing_Then_it_escalates_and_both_calls_are_recorded()
    {
        var id = ApiClient.NewId();
        await SummaryProbe.PostTurnsAsync(_api, id, 10);
        _fixture.Llm.Enqueue(
            new FakeReply.Answer(Content: "Sorry.", Refusal: "I cannot help with that.", PromptTokens: 500, CompletionTokens: 7),
            new FakeReply.Answer("Alice booked room 104.", PromptTokens: 500, CompletionTokens: 6));

        await SummaryProbe.SendAsync(_summarizer, id, 6);

        var summary = Assert.Single(await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 1));
        Assert.Equal(("gpt-4o-mini", "Alice booked room 104."), (summary.Model, summary.Text));
        var usage = (await _api.GetAsync("/usage?groupBy=conversation")).Expect(HttpStatusCode.OK).Body;
        var group = usage["groups"]!.AsArray().Single(g => g!["key"]!.GetValue<string>() == id)!;
        // The refused call was answered and billed: it counts too.
        Assert.Equal((2, 1_000, 13), (group["calls"]!.GetValue<int>(), group["inputTokens"]!.GetValue<int>(), group["outputTokens"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Given_three_tiers_When_the_first_two_fail_Then_the_third_writes_the_summary()
    {
        await using var tiered = _fixture.CreateFactory(new Dictionary<string, string?>
        {
            ["Messaging:EndpointPrefix"] = $"{_fixture.EndpointPrefix}{Guid.NewGuid():N}"[..24] + "-",
            ["Llm:Models:0"] = "gpt-4.1-nano", ["Llm:Models:1"] = "gpt-4o-mini", ["Llm:Models:2"] = "gpt-4.1",
        });
        var id = ApiClient.NewId();
        await SummaryProbe.PostTurnsAsync(_api, id, 10);
        _fixture.Llm.Enqueue(new FakeReply.Status(400), new FakeReply.Answer(Content: ""), new FakeReply.Answer("Room 104 it is."));

        await SummaryProbe.SendAsync(tiered, id, 6);

        var summary = Assert.Single(await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 1));
        Assert.Equal(("gpt-4.1", "Room 104 it is.", false), (summary.Model, summary.Text, summary.Provisional));
        Assert.Equal(["gpt-4.1-nano", "gpt-4o-mini", "gpt-4.1"], _fixture.Llm.ChatRequests.Select(r => r.Model));
    }

    [Fact]
    public async Task Given_a_provider_that_always_fails_When_summarizing_Then_an_extractive_summary_stands_in_until_a_real_one_replaces_it()
    {
        var id = ApiClient.NewId();
        await SummaryProbe.PostTurnsAsync(_api, id, 10);
        _fixture.Llm.Default = new FakeReply.Status(500);

        await SummaryProbe.SendAsync(_summarizer, id, 6);

        var standIn = Assert.Single(await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 1));
        Assert.Equal((1, 6, "extractive", true), (standIn.From, standIn.Through, standIn.Model, standIn.Provisional));
        // Two tiers with their retries at most; fewer once the breaker has seen enough failures (it samples across calls).
        Assert.InRange(_fixture.Llm.ChatRequests.Count, 1, 6);
        Assert.Equal((standIn.Text, true), await CurrentSummaryAsync(id));
        (await _api.GetContextAsync(id, "budget=300")).Expect(HttpStatusCode.OK);

        // The provider is back: the next round of retries replaces the stand-in with a real summary of the same turns,
        // folded from the real summary under it (none), not from the stand-in. (The sweep finds the stand-ins of other
        // tests too, so every answer is the same.)
        _fixture.Llm.Reset();
        _fixture.Llm.Default = new FakeReply.Answer("Alice moved the review to room 104.");
        // The failures opened the breaker. One call through it once it half-opens closes it again, so that the sweep's
        // commands (other tests' stand-ins too), sent together, do not meet it half-open, where all but one are refused.
        var chat = _summarizer.Services.GetRequiredService<IChatClient>();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await chat.GetResponseAsync("ping", new ChatOptions { ModelId = "gpt-4.1-nano" });
                break;
            }
            catch (Exception) when (attempt < 50)
            {
                await Task.Delay(100);
            }
        }
        Assert.True(await _summarizer.Services.GetRequiredService<ProvisionalSummaries>().SweepAsync(default) >= 1);

        var summaries = await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 2);
        Assert.Equal((1, 6, "gpt-4.1-nano", "Alice moved the review to room 104.", false),
            (summaries[1].From, summaries[1].Through, summaries[1].Model, summaries[1].Text, summaries[1].Provisional));
        Assert.Contains(_fixture.Llm.ChatRequests.Select(r => r.Body.ToJsonString().Replace("\\u0027", "'", StringComparison.Ordinal)),
            r => r.Contains("Previous summary:\\n(none)", StringComparison.Ordinal) && r.Contains(SummaryProbe.Sentence(6), StringComparison.Ordinal));
        Assert.Equal(("Alice moved the review to room 104.", false), await CurrentSummaryAsync(id));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Given_an_answer_cut_at_the_output_cap_When_summarizing_Then_a_shorter_one_is_asked_for_and_a_second_cut_is_marked(
        bool cutTwice)
    {
        var id = ApiClient.NewId();
        await SummaryProbe.PostTurnsAsync(_api, id, 10);
        _fixture.Llm.Enqueue(
            new FakeReply.Answer("Alice moved the review to room", FinishReason: "length"),
            new FakeReply.Answer(cutTwice ? "Alice moved the" : "Review in room 104.", FinishReason: cutTwice ? "length" : "stop"));

        await SummaryProbe.SendAsync(_summarizer, id, 6);

        var summary = Assert.Single(await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 1));
        Assert.Equal((cutTwice ? "Alice moved the" : "Review in room 104.", cutTwice), (summary.Text, summary.Truncated));
        var requests = _fixture.Llm.ChatRequests;
        Assert.Equal(["gpt-4.1-nano", "gpt-4.1-nano"], requests.Select(r => r.Model));
        Assert.Contains("at most 200 tokens", requests[0].Body.ToJsonString());
        Assert.Contains("at most 133 tokens", requests[1].Body.ToJsonString());
    }

    [Fact]
    public async Task Given_a_daily_budget_past_its_warning_level_When_the_cheap_tier_fails_Then_no_dearer_tier_is_called()
    {
        // A tenant of its own, so what other tests spent today does not count.
        var (tenant, key) = ("tenant-" + Guid.NewGuid().ToString("N")[..8], "test-key-" + Guid.NewGuid().ToString("N"));
        await using var budgeted = _fixture.CreateFactory(new Dictionary<string, string?>
        {
            ["Messaging:EndpointPrefix"] = $"{_fixture.EndpointPrefix}{Guid.NewGuid():N}"[..24] + "-",
            ["Llm:DailyBudgetUsd"] = "0.00016",
            ["Auth:ApiKeys:2:Key"] = key,
            ["Auth:ApiKeys:2:Tenant"] = tenant,
        });
        using var http = budgeted.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", key);
        using var api = new ApiClient(http);
        var id = ApiClient.NewId();
        await SummaryProbe.PostTurnsAsync(api, id, 10);
        // 1,000 in and 100 out on the cheap tier: 0.00014 USD, 87.5% of the budget.
        _fixture.Llm.Enqueue(new FakeReply.Answer("First summary.", PromptTokens: 1_000, CompletionTokens: 100), new FakeReply.Status(400));

        await SummaryProbe.SendAsync(budgeted, id, 4, tenant);
        await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 1);
        await SummaryProbe.SendAsync(budgeted, id, 8, tenant);
        var summaries = await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 2);

        Assert.Equal([("gpt-4.1-nano", false), ("extractive", true)], summaries.Select(s => (s.Model, s.Provisional)));
        Assert.Equal(["gpt-4.1-nano", "gpt-4.1-nano"], _fixture.Llm.ChatRequests.Select(r => r.Model));
    }

    /// <summary>The conversation's current summary as its read model holds it: text, and whether it is provisional.</summary>
    private async Task<(string, bool)> CurrentSummaryAsync(string id)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "SELECT data->'summary'->>'text', coalesce((data->'summary'->>'provisional')::boolean, false) "
            + "FROM conversations.mt_doc_conversationview WHERE id = $1", connection);
        command.Parameters.Add(new() { Value = id });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.GetString(0), reader.GetBoolean(1));
    }

    [Fact]
    public async Task Given_a_daily_budget_reached_When_summarizing_Then_the_offline_summarizer_takes_over()
    {
        var budgeted = _fixture.CreateFactory(new Dictionary<string, string?>
        {
            ["Messaging:EndpointPrefix"] = _fixture.EndpointPrefix + "budget-",
            ["Llm:DailyBudgetUsd"] = "0.00005",
        });
        // Its own tenant, so what other tests spent today does not count.
        using var tenantB = _fixture.Client(apiKey: ServiceFixture.TenantBKey);
        var id = ApiClient.NewId();
        await SummaryProbe.PostTurnsAsync(tenantB, id, 10);
        _fixture.Llm.Enqueue(new FakeReply.Answer("First summary.", PromptTokens: 1_000, CompletionTokens: 100));

        await SummaryProbe.SendAsync(budgeted, id, 4, "tenant-b");
        await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 1);
        await SummaryProbe.SendAsync(budgeted, id, 8, "tenant-b");
        var summaries = await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 2);

        Assert.Equal(["gpt-4.1-nano", "extractive"], summaries.Select(s => s.Model));
        Assert.Single(_fixture.Llm.ChatRequests);
        // One call spent past both levels: each is stored.
        var day = "budget/" + DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal([day + "/80", day + "/100"], await BudgetStreamsAsync("tenant-b"));
    }

    private async Task<List<string>> BudgetStreamsAsync(string tenant)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "SELECT stream_id FROM conversations.mt_events WHERE tenant_id = $1 AND type = 'daily_budget_reached' ORDER BY seq_id",
            connection);
        command.Parameters.Add(new() { Value = tenant });
        await using var reader = await command.ExecuteReaderAsync();
        var streams = new List<string>();
        while (await reader.ReadAsync())
        {
            streams.Add(reader.GetString(0));
        }
        return streams;
    }

    public void Dispose()
    {
        _api.Dispose();
        _summarizer.Dispose();
    }
}
