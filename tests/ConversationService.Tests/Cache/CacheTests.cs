using System.Diagnostics.Metrics;
using System.Net;
using ConversationService.Cache;
using ConversationService.Hosting;
using ConversationService.Storage;
using ConversationService.Tests.Infrastructure;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Npgsql;

namespace ConversationService.Tests.Cache;

/// <summary>The semantic response cache over HTTP, with the fixture's lexical embedder (the threshold test uses the model).</summary>
[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class CacheTests(ServiceFixture fixture) : IDisposable
{
    private const string System = "You are the support assistant of Acme.";
    private readonly ApiClient _api = fixture.Client();
    // A model name of its own per test keeps the tests' entries apart within tenant A.
    private readonly string _model = ApiClient.NewId("model");

    private static CacheMessage[] Messages(string question, string system = System) => [new("system", system), new("user", question)];

    private Task<Reply> LookupAsync(object body, ApiClient? api = null) => (api ?? _api).SendAsync(HttpMethod.Post, "/cache/lookup", body);

    private Task<Reply> PutAsync(object body, ApiClient? api = null) => (api ?? _api).SendAsync(HttpMethod.Put, "/cache/entries", body);

    [Fact]
    public async Task Given_a_stored_response_When_the_question_is_asked_again_or_paraphrased_Then_it_hits_and_near_misses_do_not()
    {
        const string question = "Can I get a refund of $40 for my last order?";
        var meters = fixture.Factory.Services.GetRequiredService<IMeterFactory>();
        using var lookups = new MetricCollector<long>(meters, Telemetry.Name, "conversation_service.cache.lookups");
        using var saved = new MetricCollector<long>(meters, Telemetry.Name, "conversation_service.cache.tokens_saved");
        var miss = (await LookupAsync(new { model = _model, messages = Messages(question) })).Expect(HttpStatusCode.OK).Body;
        Assert.False(miss["hit"]!.GetValue<bool>());

        var put = (await PutAsync(new
        {
            model = _model, messages = Messages(question), response = "Yes: refunds under $50 are automatic.", metadata = new { source = "faq" },
        })).Expect(HttpStatusCode.OK).Body;
        var key = put["key"]!.GetValue<string>();
        Assert.Matches("^[0-9a-f]{32}$", key);

        var hit = (await LookupAsync(new { model = _model, messages = Messages(question) })).Expect(HttpStatusCode.OK).Body;
        Assert.True(hit["hit"]!.GetValue<bool>());
        Assert.Equal((key, "Yes: refunds under $50 are automatic.", "faq"),
            (hit["key"]!.GetValue<string>(), hit["response"]!.GetValue<string>(), hit["metadata"]!["source"]!.GetValue<string>()));
        Assert.True(hit["similarity"]!.GetValue<double>() > 0.999);
        Assert.InRange(hit["ageSeconds"]!.GetValue<double>(), 0, 60);
        // Case, spacing and final punctuation are normalized away: the same key.
        var same = (await PutAsync(new { model = _model, messages = Messages("can I get a refund of $40 for my  last order"), response = "x" }))
            .Expect(HttpStatusCode.OK).Body;
        Assert.Equal(key, same["key"]!.GetValue<string>());

        var paraphrase = (await LookupAsync(new { model = _model, messages = Messages("Could I get a refund of $40 for my last online order?"), minSimilarity = 0.5 }))
            .Expect(HttpStatusCode.OK).Body;
        Assert.True(paraphrase["hit"]!.GetValue<bool>());
        Assert.InRange(paraphrase["similarity"]!.GetValue<double>(), 0.5, 0.9999);
        foreach (var nearMiss in (string[])["Can I get a refund of $400 for my last order?", "Can't I get a refund of $40 for my last order?",
                     "Can I get a refund of €40 for my last order?"])
        {
            var reply = (await LookupAsync(new { model = _model, messages = Messages(nearMiss), minSimilarity = 0 })).Expect(HttpStatusCode.OK).Body;
            Assert.False(reply["hit"]!.GetValue<bool>(), nearMiss);
        }
        // On the meter: two hits and four misses of this model so far, and the hits' tokens (the first answer's, then
        // the one that replaced it under the same key).
        long Sum(MetricCollector<long> collector, string key, string value) => collector.GetMeasurementSnapshot()
            .Where(m => Equals(m.Tags["model"], _model) && Equals(m.Tags[key], value)).Sum(m => m.Value);
        Assert.Equal((2L, 4L), (Sum(lookups, "outcome", "hit"), Sum(lookups, "outcome", "miss")));
        var answerTokens = 0L;
        foreach (var answer in (string[])["Yes: refunds under $50 are automatic.", "x"])
        {
            answerTokens += (await _api.SendAsync(HttpMethod.Post, "/tokenize", new { model = "gpt-4o", text = answer }))
                .Expect(HttpStatusCode.OK).Get<int>("tokens");
        }
        Assert.Equal(answerTokens, Sum(saved, "token_type", "output"));
        Assert.True(Sum(saved, "token_type", "input") > 0);
        // Another system prompt, another model, another tenant: never.
        Assert.False((await LookupAsync(new { model = _model, messages = Messages(question, "You are a pirate."), minSimilarity = 0 }))
            .Expect(HttpStatusCode.OK).Get<bool>("hit"));
        Assert.False((await LookupAsync(new { model = _model + "-other", messages = Messages(question), minSimilarity = 0 }))
            .Expect(HttpStatusCode.OK).Get<bool>("hit"));
        using var tenantB = fixture.Client(ServiceFixture.TenantBKey);
        Assert.False((await LookupAsync(new { model = _model, messages = Messages(question), minSimilarity = 0 }, tenantB))
            .Expect(HttpStatusCode.OK).Get<bool>("hit"));
    }

    [Fact]
    public async Task Given_a_prompt_or_the_whole_conversation_When_looked_up_Then_only_the_same_context_hits()
    {
        (await PutAsync(new { model = _model, prompt = "What are your opening hours?", response = "9 to 5." })).Expect(HttpStatusCode.OK);
        var earlier = new[]
        {
            new { role = "user", content = "I ordered a lamp." }, new { role = "assistant", content = "Thanks!" },
            new { role = "user", content = "Where is the lamp now?" },
        };
        (await PutAsync(new { model = _model, messages = earlier, includeConversation = true, response = "On its way." })).Expect(HttpStatusCode.OK);

        Assert.True((await LookupAsync(new { model = _model, prompt = "what are your opening hours" })).Expect(HttpStatusCode.OK).Get<bool>("hit"));
        Assert.True((await LookupAsync(new { model = _model, messages = earlier, includeConversation = true })).Get<bool>("hit"));
        var otherConversation = new[] { new { role = "user", content = "I ordered a chair." }, earlier[1], earlier[2] };
        Assert.False((await LookupAsync(new { model = _model, messages = otherConversation, includeConversation = true, minSimilarity = 0 }))
            .Get<bool>("hit"));
    }

    [Fact]
    public async Task Given_entries_When_one_key_and_then_all_are_deleted_Then_they_never_hit_again_and_their_rows_are_gone()
    {
        const string first = "How do I reset my password?", second = "How do I change my email address?";
        var key = (await PutAsync(new { model = _model, prompt = first, response = "Use the link." })).Expect(HttpStatusCode.OK).Get<string>("key");
        (await PutAsync(new { model = _model, prompt = second, response = "In settings." })).Expect(HttpStatusCode.OK);
        using var tenantB = fixture.Client(ServiceFixture.TenantBKey);
        (await PutAsync(new { model = _model, prompt = first, response = "B's answer." }, tenantB)).Expect(HttpStatusCode.OK);

        (await _api.SendAsync(HttpMethod.Delete, $"/cache/entries/{key}")).Expect(HttpStatusCode.NoContent);
        (await _api.SendAsync(HttpMethod.Delete, $"/cache/entries/{key}")).ExpectProblem(HttpStatusCode.NotFound);
        Assert.False((await LookupAsync(new { model = _model, prompt = first })).Get<bool>("hit"));
        Assert.Equal(0, await CountRowsAsync("tenant-a", "Use the link."));
        Assert.True((await LookupAsync(new { model = _model, prompt = second })).Get<bool>("hit"));

        var deleted = (await _api.SendAsync(HttpMethod.Delete, "/cache/entries")).Expect(HttpStatusCode.OK).Get<int>("deleted");

        Assert.True(deleted >= 1);
        Assert.False((await LookupAsync(new { model = _model, prompt = second })).Get<bool>("hit"));
        Assert.Equal(0, await CountRowsAsync("tenant-a", null));
        Assert.Equal(1, await CountRowsAsync("tenant-b", "B's answer.")); // another tenant's entries stay
        Assert.True((await LookupAsync(new { model = _model, prompt = first }, tenantB)).Get<bool>("hit"));
    }

    [Fact]
    public async Task Given_a_tenant_at_its_entry_limit_When_another_entry_is_put_Then_the_oldest_goes()
    {
        await using var factory = fixture.CreateFactory(new Dictionary<string, string?> { ["Cache:MaxEntriesPerTenant"] = "2" });
        using var http = factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", ServiceFixture.TenantAKey);
        var api = new ApiClient(http);
        string[] questions = ["Do you ship to Canada?", "Do you ship to Mexico?", "Do you ship to Brazil?"];
        foreach (var question in questions)
        {
            (await PutAsync(new { model = _model, prompt = question, response = question + " Yes." }, api)).Expect(HttpStatusCode.OK);
        }

        var hits = new List<bool>();
        foreach (var question in questions)
        {
            hits.Add((await LookupAsync(new { model = _model, prompt = question }, api)).Expect(HttpStatusCode.OK).Get<bool>("hit"));
        }

        Assert.Equal([false, true, true], hits);
        Assert.Equal(2, await CountRowsAsync("tenant-a", null));
    }

    [Fact]
    public async Task Given_an_entry_with_a_ttl_When_it_has_passed_Then_it_no_longer_hits()
    {
        var time = new MovableTime();
        await using var factory = fixture.CreateFactory(new Dictionary<string, string?>())
            .WithWebHostBuilder(web => web.ConfigureTestServices(services => services.AddSingleton<TimeProvider>(time)));
        using var http = factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", ServiceFixture.TenantAKey);
        var api = new ApiClient(http);
        var put = (await PutAsync(new { model = _model, prompt = "Do you ship to Canada?", response = "Yes.", ttlSeconds = 60 }, api))
            .Expect(HttpStatusCode.OK).Body;
        Assert.Equal(time.GetUtcNow().AddSeconds(60), put["expiresAt"]!.GetValue<DateTimeOffset>());

        time.Advance(TimeSpan.FromSeconds(59));
        var before = (await LookupAsync(new { model = _model, prompt = "Do you ship to Canada?" }, api)).Expect(HttpStatusCode.OK).Body;
        time.Advance(TimeSpan.FromSeconds(1));
        var after = (await LookupAsync(new { model = _model, prompt = "Do you ship to Canada?" }, api)).Expect(HttpStatusCode.OK).Body;

        Assert.True(before["hit"]!.GetValue<bool>());
        Assert.Equal(59, before["ageSeconds"]!.GetValue<double>(), 3);
        Assert.False(after["hit"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Given_lookups_When_usage_is_read_Then_hits_misses_and_saved_tokens_are_counted()
    {
        var usage = async () => (await _api.GetAsync("/usage")).Expect(HttpStatusCode.OK).Body["cache"]!;
        var start = await usage();
        (await PutAsync(new { model = "gpt-4o", prompt = $"Is there a student discount for {_model}?", response = "Yes, 20 percent off." }))
            .Expect(HttpStatusCode.OK);

        (await LookupAsync(new { model = "gpt-4o", prompt = $"Is there a student discount for {_model}?" })).Expect(HttpStatusCode.OK);
        (await LookupAsync(new { model = "gpt-4o", prompt = $"Is there a teacher discount for {_model}?", minSimilarity = 0.99 })).Expect(HttpStatusCode.OK);
        var end = await usage();

        long Delta(string field) => end[field]!.GetValue<long>() - start[field]!.GetValue<long>();
        Assert.Equal((2L, 1L, 1L), (Delta("lookups"), Delta("hits"), Delta("misses")));
        Assert.Equal(7, Delta("outputTokensSaved")); // "Yes, 20 percent off." in o200k_base
        Assert.InRange(Delta("inputTokensSaved"), 10, 40);
        Assert.True(end["costSavedUsd"]!.GetValue<decimal>() > start["costSavedUsd"]!.GetValue<decimal>());
    }

    [Theory]
    [InlineData("""{"prompt":"hi","response":"x"}""", "model")]
    [InlineData("""{"model":"m","response":"x"}""", "prompt")]
    [InlineData("""{"model":"m","prompt":"hi","messages":[{"role":"user","content":"hi"}],"response":"x"}""", "prompt")]
    [InlineData("""{"model":"m","messages":[],"response":"x"}""", "messages")]
    [InlineData("""{"model":"m","messages":[{"role":"system","content":"s"}],"response":"x"}""", "messages")]
    [InlineData("""{"model":"m","messages":[{"content":"hi"}],"response":"x"}""", "messages[0].role")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"user","content":" "}],"response":"x"}""", "messages")]
    [InlineData("""{"model":"m","prompt":"hi"}""", "response")]
    [InlineData("""{"model":"m","prompt":"hi","response":"x","ttlSeconds":59}""", "ttlSeconds")]
    [InlineData("""{"model":"m","prompt":"hi","response":"x","ttlSeconds":2592001}""", "ttlSeconds")]
    [InlineData("""{"model":"m","prompt":"hi","response":"x","metadata":[1]}""", "metadata")]
    public async Task Given_an_invalid_entry_When_put_Then_400_names_the_field(string body, string field) =>
        (await _api.SendRawAsync(HttpMethod.Put, "/cache/entries", body)).ExpectFieldError(field);

    [Fact]
    public async Task Given_invalid_lookups_and_keys_Then_400_names_the_field()
    {
        (await _api.SendRawAsync(HttpMethod.Post, "/cache/lookup", """{"model":"m","prompt":"hi","minSimilarity":1.5}""")).ExpectFieldError("minSimilarity");
        (await _api.SendRawAsync(HttpMethod.Post, "/cache/lookup", $$"""{"model":"{{new string('m', 129)}}","prompt":"hi"}""")).ExpectFieldError("model");
        (await _api.SendAsync(HttpMethod.Delete, "/cache/entries/not-a-key")).ExpectFieldError("key");
    }

    private async Task<long> CountRowsAsync(string tenant, string? response)
    {
        var schema = fixture.Factory.Services.GetRequiredService<DatabaseSchema>().Name;
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT count(*) FROM {schema}.cache_entries WHERE tenant_id = $1 AND model = $2 AND ($3::text IS NULL OR response = $3)", connection);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = _model });
        command.Parameters.Add(new() { Value = (object?)response ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private sealed class MovableTime : TimeProvider
    {
        private DateTimeOffset _now = DateTimeOffset.UtcNow;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    public void Dispose() => _api.Dispose();
}
