using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using ConversationService.Context;
using ConversationService.Tests.Infrastructure;
using ConversationService.Tests.Summaries;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ConversationService.Tests.Context;

/// <summary>Counts of a host's context answer cache, to tell a replayed answer from a freshly ranked one.</summary>
public sealed record CacheCounts(long Hits, long Misses)
{
    public static CacheCounts Of(WebApplicationFactory<Program> factory)
    {
        var cache = factory.Services.GetRequiredService<ContextResponseCache>();
        return new CacheCounts(cache.Hits, cache.Misses);
    }

    public static CacheCounts operator -(CacheCounts after, CacheCounts before) =>
        new(after.Hits - before.Hits, after.Misses - before.Misses);
}

[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class ContextResponseCacheTests(ServiceFixture fixture)
{
    private const string Budget = "budget=8000";
    private readonly ApiClient _api = fixture.Client();

    private CacheCounts Counts => CacheCounts.Of(fixture.Factory);

    private async Task<string> ConversationAsync(string systemPrompt, int turns = 6)
    {
        var id = ApiClient.NewId();
        (await _api.PutConversationAsync(id, new { systemPrompt })).Expect(HttpStatusCode.Created);
        await SummaryProbe.PostTurnsAsync(_api, id, turns);
        return id;
    }

    [Fact]
    public async Task Given_a_context_answer_When_the_same_request_repeats_Then_the_same_bytes_are_replayed_without_ranking()
    {
        var id = await ConversationAsync("You keep minutes.");
        var before = Counts;

        var first = (await _api.GetContextAsync(id, Budget)).Expect(HttpStatusCode.OK);
        var second = (await _api.GetContextAsync(id, Budget)).Expect(HttpStatusCode.OK);
        var posted = (await _api.SendAsync(HttpMethod.Post, $"/conversations/{id}/context", new { budget = 8000 }))
            .Expect(HttpStatusCode.OK);

        Assert.Equal(new CacheCounts(2, 1), Counts - before);
        Assert.Equal(first.Text, second.Text);
        Assert.Equal(first.Text, posted.Text);
        Assert.Equal("application/json", second.ContentType);
        Assert.Equal(first.Headers["ETag"], second.Headers["ETag"]);
        Assert.Equal(7, second.Get<long>("version"));
    }

    [Fact]
    public async Task Given_requests_on_one_conversation_all_the_time_When_a_turn_is_appended_Then_every_request_sent_after_it_sees_it()
    {
        var id = await ConversationAsync("You keep minutes.");
        var before = Counts;
        using var stop = new CancellationTokenSource();
        // Readers that keep stamp reads in flight, so requests after each append find one that began before it.
        var readers = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            using var reader = fixture.Client();
            while (!stop.IsCancellationRequested)
            {
                (await reader.GetContextAsync(id, Budget)).Expect(HttpStatusCode.OK);
            }
        })).ToArray();

        for (var i = 0; i < 12; i++)
        {
            var appended = (await _api.AppendTurnAsync(id, "user", $"Question {i}?")).Expect(HttpStatusCode.Created).Get<long>("version");
            var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => _api.GetContextAsync(id, Budget)));
            Assert.All(answers, a => Assert.Equal(appended, a.Expect(HttpStatusCode.OK).Get<long>("version")));
        }
        await stop.CancelAsync();
        await Task.WhenAll(readers);

        Assert.True((Counts - before).Hits > 0);
    }

    [Fact]
    public async Task Given_a_cached_answer_When_a_turn_is_appended_Then_the_next_answer_is_ranked_afresh()
    {
        var id = await ConversationAsync("You keep minutes.");
        var cached = (await _api.GetContextAsync(id, Budget)).Expect(HttpStatusCode.OK);
        var before = Counts;

        (await _api.AppendTurnAsync(id, "user", "And who books the room?")).Expect(HttpStatusCode.Created);
        var fresh = (await _api.GetContextAsync(id, Budget)).Expect(HttpStatusCode.OK);

        Assert.Equal(new CacheCounts(0, 1), Counts - before);
        Assert.Equal(cached.Get<long>("version") + 1, fresh.Get<long>("version"));
        Assert.Equal("And who books the room?", fresh.Body["messages"]!.AsArray()[^1]!["content"]!.GetValue<string>());
        Assert.NotEqual(cached.Headers["ETag"], fresh.Headers["ETag"]);
    }

    [Fact]
    public async Task Given_a_cached_answer_When_the_system_prompt_or_model_changes_Then_the_next_answer_is_ranked_afresh()
    {
        var id = await ConversationAsync("You keep minutes.");
        (await _api.GetContextAsync(id, Budget)).Expect(HttpStatusCode.OK);
        var before = Counts;

        (await _api.PutConversationAsync(id, new { systemPrompt = "You keep short minutes." })).Expect(HttpStatusCode.OK);
        var prompted = (await _api.GetContextAsync(id, Budget)).Expect(HttpStatusCode.OK);
        (await _api.PutConversationAsync(id, new { model = "gpt-4" })).Expect(HttpStatusCode.OK);
        var remodelled = (await _api.GetContextAsync(id, Budget)).Expect(HttpStatusCode.OK);

        Assert.Equal(new CacheCounts(0, 2), Counts - before);
        Assert.Equal("You keep short minutes.", prompted.Body["messages"]![0]!["content"]!.GetValue<string>());
        Assert.Equal("gpt-4o", prompted.Get<string>("model"));
        Assert.Equal("gpt-4", remodelled.Get<string>("model"));
        Assert.Equal("cl100k_base", remodelled.Get<string>("encoding"));
    }

    [Fact]
    public async Task Given_a_cached_answer_When_a_summary_is_stored_Then_the_next_answer_carries_it()
    {
        var id = await ConversationAsync("You keep minutes.", turns: 30);
        const string small = "budget=600&summaryShare=0.5";
        var unsummarized = (await _api.GetContextAsync(id, small)).Expect(HttpStatusCode.OK);
        Assert.DoesNotContain(unsummarized.Body["sections"]!.AsArray(), s => s!["kind"]!.GetValue<string>() == "summary");
        var before = Counts;

        // A summary lives in a stream of its own: the conversation's version does not move.
        await SummaryProbe.SendAsync(fixture.Factory, id, through: 20);
        Assert.Single(await SummaryProbe.WaitForSummariesAsync(fixture.ConnectionString, id, 1));
        var summarized = (await _api.GetContextAsync(id, small)).Expect(HttpStatusCode.OK);

        Assert.Equal(new CacheCounts(0, 1), Counts - before);
        Assert.Equal(unsummarized.Get<long>("version"), summarized.Get<long>("version"));
        Assert.Contains(summarized.Body["sections"]!.AsArray(), s => s!["kind"]!.GetValue<string>() == "summary");
    }

    [Fact]
    public async Task Given_cached_answers_When_any_parameter_differs_Then_each_is_ranked_afresh_and_then_replayed()
    {
        var id = await ConversationAsync("You keep minutes.", turns: 12);
        string[] requests =
        [
            Budget, "budget=400", "budget=400&reserve=50", "budget=400&model=gpt-4", "budget=400&query=room%20105",
            "budget=400&query=room%20106", "budget=400&recentShare=0.5", "budget=400&summaryShare=0.1",
        ];
        var before = Counts;

        var answers = new List<string>();
        foreach (var request in requests)
        {
            answers.Add((await _api.GetContextAsync(id, request)).Expect(HttpStatusCode.OK).Text);
        }
        var replays = new List<string>();
        foreach (var request in requests)
        {
            replays.Add((await _api.GetContextAsync(id, request)).Expect(HttpStatusCode.OK).Text);
        }

        Assert.Equal(new CacheCounts(requests.Length, requests.Length), Counts - before);
        Assert.Equal(answers, replays);
        Assert.Contains("\"reserve\":50", answers[2]);
        Assert.Contains("\"encoding\":\"cl100k_base\"", answers[3]);
    }

    [Fact]
    public async Task Given_requests_with_candidates_collections_or_examples_Then_they_are_always_ranked_afresh()
    {
        var id = await ConversationAsync("You keep minutes.");
        var candidates = new { budget = 8000, candidates = new[] { new { id = "kb-1", text = "Room 105 is on the first floor." } } };
        var before = Counts;

        for (var i = 0; i < 2; i++)
        {
            (await _api.SendAsync(HttpMethod.Post, $"/conversations/{id}/context", candidates)).Expect(HttpStatusCode.OK);
            (await _api.GetContextAsync(id, "budget=8000&collections=floor-plans")).Expect(HttpStatusCode.OK);
            (await _api.GetContextAsync(id, "budget=8000&examples=2")).Expect(HttpStatusCode.OK);
        }

        Assert.Equal(new CacheCounts(0, 0), Counts - before);
    }

    [Fact]
    public async Task Given_a_cached_answer_When_another_tenant_asks_for_the_same_id_Then_404()
    {
        var id = await ConversationAsync("You keep minutes.");
        (await _api.GetContextAsync(id, Budget)).Expect(HttpStatusCode.OK);
        using var tenantB = fixture.Client(ServiceFixture.TenantBKey);

        await ExpectNotFoundAsync(tenantB, id);
    }

    [Fact]
    public async Task Given_a_cached_answer_When_the_conversation_is_deleted_Then_404_and_never_the_cached_answer()
    {
        var id = await ConversationAsync("You keep minutes.");
        (await _api.GetContextAsync(id, Budget)).Expect(HttpStatusCode.OK);
        (await _api.GetContextAsync(id, Budget)).Expect(HttpStatusCode.OK);

        (await _api.DeleteConversationAsync(id)).Expect(HttpStatusCode.NoContent);

        await ExpectNotFoundAsync(_api, id);
    }

    [Fact]
    public async Task Given_an_etag_When_it_is_sent_back_Then_304_until_the_conversation_changes()
    {
        var id = await ConversationAsync("You keep minutes.");
        var etag = (await _api.GetContextAsync(id, Budget)).Expect(HttpStatusCode.OK).Headers["ETag"];

        var unchanged = await ConditionalGetAsync(_api, id, etag);
        (await _api.AppendTurnAsync(id, "user", "Is the room booked?")).Expect(HttpStatusCode.Created);
        var changed = await ConditionalGetAsync(_api, id, etag);

        Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);
        Assert.Equal(etag, unchanged.Headers.ETag!.ToString());
        Assert.Empty(await unchanged.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotEqual(etag, changed.Headers.ETag!.ToString());
    }

    [Fact]
    public async Task Given_the_cache_turned_off_When_the_same_request_repeats_Then_each_answer_is_ranked_and_equal()
    {
        await using var off = fixture.CreateFactory(new Dictionary<string, string?> { ["Context:ResponseCacheMegabytes"] = "0" });
        using var api = new ApiClient(off.CreateClient());
        api.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServiceFixture.TenantAKey);
        var id = await ConversationAsync("You keep minutes.");

        var first = (await api.GetContextAsync(id, Budget)).Expect(HttpStatusCode.OK);
        var second = (await api.GetContextAsync(id, Budget)).Expect(HttpStatusCode.OK);
        var conditional = await ConditionalGetAsync(api, id, first.Headers["ETag"]);

        Assert.Equal(new CacheCounts(0, 0), CacheCounts.Of(off));
        Assert.Equal(first.Text, second.Text);
        Assert.Equal(HttpStatusCode.NotModified, conditional.StatusCode);
    }

    [Fact]
    public async Task Given_replayed_answers_When_usage_is_read_Then_every_request_counts_in_the_savings()
    {
        // Tenant b: in this fixture it asks for no other context, so its savings are this test's alone.
        using var tenantB = fixture.Client(ServiceFixture.TenantBKey);
        var id = ApiClient.NewId();
        await SummaryProbe.PostTurnsAsync(tenantB, id, 30);
        var before = Counts;

        var answers = new List<Reply>();
        for (var i = 0; i < 3; i++)
        {
            answers.Add((await tenantB.GetContextAsync(id, "budget=300")).Expect(HttpStatusCode.OK));
        }

        Assert.Equal(new CacheCounts(2, 1), Counts - before);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        JsonNode savings;
        do
        {
            await Task.Delay(100);
            savings = (await tenantB.GetAsync("/usage")).Expect(HttpStatusCode.OK).Body["savings"]!;
        }
        while (savings["contextRequests"]!.GetValue<long>() < 3 && DateTime.UtcNow < deadline);
        Assert.Equal(3, savings["contextRequests"]!.GetValue<long>());
        Assert.Equal(answers.Sum(a => a.Get<long>("tokens")), savings["tokensServed"]!.GetValue<long>());
        Assert.Equal(answers.Sum(a => a.Get<long>("fullHistoryTokens")), savings["fullHistoryTokens"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("Context:ResponseCacheMegabytes")]
    [InlineData("Context:LibraryCacheMegabytes")]
    public void Given_a_negative_cache_size_When_starting_Then_it_refuses_with_a_message_naming_the_setting(string setting)
    {
        ServiceEntryPoint.AssertRefusesToStart(fixture.StartSettings(new Dictionary<string, string?> { [setting] = "-1" }), setting);
    }

    /// <summary>The same request by GET and by POST: both are 404, never a kept answer.</summary>
    private static async Task ExpectNotFoundAsync(ApiClient api, string id)
    {
        (await api.GetContextAsync(id, Budget)).ExpectProblem(HttpStatusCode.NotFound);
        (await api.SendAsync(HttpMethod.Post, $"/conversations/{id}/context", new { budget = 8000 }))
            .ExpectProblem(HttpStatusCode.NotFound);
    }

    private static async Task<HttpResponseMessage> ConditionalGetAsync(ApiClient api, string id, string etag)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/conversations/{id}/context?{Budget}");
        request.Headers.TryAddWithoutValidation("If-None-Match", etag);
        return await api.Http.SendAsync(request);
    }
}
