using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Numerics.Tensors;
using ConversationService.Conversations;
using ConversationService.Embeddings;
using ConversationService.Tests.Context;
using ConversationService.Tests.Fakes;
using ConversationService.Tests.Infrastructure;
using ConversationService.Tests.Summaries;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Microsoft.Extensions.DependencyInjection;

namespace ConversationService.Tests.Embeddings;

/// <summary>The LLM fixture's fake server and settings, with embeddings from it too, in a database of its own.</summary>
public sealed class OpenAiEmbeddingFixture : LlmFixture
{
    // The fake provider fails and rejects texts on purpose: query embeddings that fall back to lexical ranking and the
    // embedding projection's restarts are expected.
    protected override IReadOnlyDictionary<string, string?> Settings => ExpectedLogs.With(
        new Dictionary<string, string?>(base.Settings)
        {
            ["Embeddings:Provider"] = "openai",
            ["Embeddings:BatchSize"] = "4",
            ["Embeddings:QueryTimeout"] = "00:00:01",
        },
        "ConversationService.Embeddings", "Marten", "JasperFx");
}

[CollectionDefinition(Name)]
public sealed class OpenAiEmbeddingCollection : ICollectionFixture<OpenAiEmbeddingFixture>
{
    public const string Name = "openai-embeddings";
}

[Collection(OpenAiEmbeddingCollection.Name)]
public sealed class OpenAiEmbeddingTests : IDisposable
{
    private readonly OpenAiEmbeddingFixture _fixture;
    private readonly ApiClient _api;

    public OpenAiEmbeddingTests(OpenAiEmbeddingFixture fixture)
    {
        _fixture = fixture;
        _fixture.Llm.Reset();
        _api = fixture.Client();
    }

    [Fact]
    public async Task Given_turns_When_the_projection_runs_Then_indexedVersion_reaches_version_and_every_turn_has_a_unit_vector()
    {
        var id = ApiClient.NewId();
        var texts = Enumerable.Range(1, 10).Select(i => $"Turn {i} of {id}: the meeting moved to room {100 + i}.").ToArray();

        await PostAsync(id, texts);
        var version = await EmbeddingProbe.WaitUntilIndexedAsync(_api, id);

        Assert.Equal(11, version);
        var vectors = await _fixture.Factory.Store().GetVectorsAsync("tenant-a", texts, default);
        Assert.All(vectors, v => Assert.Equal(1f, TensorPrimitives.Norm(v!), 0.0001f));
        Assert.Equal("text-embedding-3-small", _fixture.Factory.Store().ModelId);
        Assert.All(_fixture.Llm.EmbeddingRequests, r => Assert.Equal("text-embedding-3-small", r.Model));
        // Embeddings:BatchSize is 4: ten texts go in three calls, each text once.
        Assert.Equal(texts.Order(), _fixture.Llm.EmbeddedTexts.Where(t => t.Contains(id, StringComparison.Ordinal)).Order());
        Assert.All(_fixture.Llm.EmbeddingRequests, r => Assert.True(r.Body["input"]!.AsArray().Count <= 4));
        Assert.Null((await _fixture.Factory.Store().GetVectorsAsync("tenant-a", ["never posted " + id], default))[0]);
    }

    [Fact]
    public async Task Given_indexed_turns_When_another_model_is_configured_Then_the_log_is_replayed_into_its_vectors()
    {
        var id = ApiClient.NewId();
        var text = $"Melanie painted a sunrise over the lake {id}.";
        await PostAsync(id, [text]);
        await EmbeddingProbe.WaitUntilIndexedAsync(_api, id);

        await using var other = _fixture.CreateFactory(new Dictionary<string, string?> { ["Embeddings:Model"] = "text-embedding-3-large" });
        using var otherApi = new ApiClient(other.CreateClient());
        otherApi.Http.DefaultRequestHeaders.Authorization = new("Bearer", ServiceFixture.TenantAKey);
        await EmbeddingProbe.WaitUntilIndexedAsync(otherApi, id);

        Assert.Equal("text-embedding-3-large", other.Store().ModelId);
        Assert.NotNull((await other.Store().GetVectorsAsync("tenant-a", [text], default))[0]);
        Assert.Contains(_fixture.Llm.EmbeddingRequests,
            r => r.Model == "text-embedding-3-large" && r.Body["input"]!.AsArray().Any(i => i!.GetValue<string>() == text));

        // The other model's replica is gone; its projection's progress row stays behind, and no replica counts it.
        await other.DisposeAsync();
        await PostAsync(id, [$"After the other model left {id}."]);
        await EmbeddingProbe.WaitUntilIndexedAsync(_api, id);
        using var replica = _fixture.CreateFactory(new Dictionary<string, string?>
        {
            ["EventStore:MaxLagSeconds"] = "1",
            ["EventStore:RunDaemon"] = "false",
        });
        using var anonymous = new ApiClient(replica.CreateClient());
        await Task.Delay(1_100);
        var ready = (await anonymous.GetAsync("/health/ready")).Body["checks"]!["eventstore"]!;
        Assert.Equal("Healthy", ready["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Given_documents_and_examples_When_put_changed_and_deleted_Then_their_stored_vectors_follow()
    {
        var store = _fixture.Factory.Store();
        var collection = ApiClient.NewId("kb");
        var chunk = $"The lighthouse {Guid.NewGuid():N} was automated in 1987.";
        var (example, before, after) = (ApiClient.NewId("ex"), $"Old input {Guid.NewGuid():N}", $"New input {Guid.NewGuid():N}");
        var output = $"Bom dia {Guid.NewGuid():N}";

        (await _api.SendAsync(HttpMethod.Put, $"/collections/{collection}/documents/light", new { text = chunk })).Expect(HttpStatusCode.Created);
        (await _api.SendAsync(HttpMethod.Put, $"/examples/{example}", new { input = before, output })).Expect(HttpStatusCode.Created);
        await EmbeddingProbe.WaitForVectorsAsync(store, "tenant-a", [chunk, before]);
        // Only an example's input is embedded: it is what a query is compared with.
        Assert.Equal(0, await EmbeddingProbe.CountStoredVectorsAsync(_fixture.Factory, output));

        (await _api.SendAsync(HttpMethod.Put, $"/examples/{example}", new { input = after, output })).Expect(HttpStatusCode.OK);
        await EmbeddingProbe.WaitForVectorsAsync(store, "tenant-a", [after]);
        await EmbeddingProbe.WaitForVectorsAsync(store, "tenant-a", [before], present: false);

        (await _api.SendAsync(HttpMethod.Delete, $"/collections/{collection}/documents/light")).Expect(HttpStatusCode.NoContent);
        (await _api.SendAsync(HttpMethod.Delete, $"/examples/{example}")).Expect(HttpStatusCode.NoContent);
        await EmbeddingProbe.WaitForVectorsAsync(store, "tenant-a", [chunk, after], present: false);
        Assert.Equal(0, await EmbeddingProbe.CountStoredVectorsAsync(_fixture.Factory, chunk));
        Assert.Equal(0, await EmbeddingProbe.CountStoredVectorsAsync(_fixture.Factory, after));
    }

    [Fact]
    public async Task Given_turns_erased_by_a_deletion_When_the_projection_reads_them_Then_no_empty_text_is_sent()
    {
        // A deletion erases the turns' content in the log; a projection that reaches them only then (behind, or
        // replaying for a new model) must not ask the provider to embed what is left: an empty text, which it rejects.
        var id = ApiClient.NewId();
        var live = $"A live turn {id}.";
        var erased = (TurnAppended)new TurnAppended("t1", 1, "user", $"Erased {id}.", "Ann", DateTimeOffset.UtcNow, 5, "o200k_base", null).Erased();
        var projection = _fixture.Factory.Services.GetRequiredService<EmbeddingProjection>();
        var sequence = 0L;
        IEvent Stored(TurnAppended data) => new Event<TurnAppended>(data)
        {
            Sequence = ++sequence, TenantId = "tenant-a", StreamKey = id, Version = sequence, Timestamp = DateTimeOffset.UtcNow,
        };
        // The page as the daemon hands it over; nothing is saved, what matters is what reached the provider.
        var page = new EventRange(new ShardName(projection.Name), 0, 2, null!)
        {
            Events = [Stored(erased), Stored(erased with { Index = 2, Content = live })],
        };
        await using var session = _fixture.Factory.Services.GetRequiredService<IDocumentStore>().LightweightSession();

        await projection.ProcessEventsAsync(page, null!, session, default);

        Assert.Equal("", erased.Content);
        Assert.DoesNotContain(_fixture.Llm.EmbeddedTexts, string.IsNullOrEmpty);
        Assert.Contains(live, _fixture.Llm.EmbeddedTexts);
    }

    [Fact]
    public async Task Given_identical_content_in_two_conversations_When_indexed_Then_it_is_embedded_once_per_tenant()
    {
        var shared = $"The shared sentence {Guid.NewGuid():N} appears twice.";
        var (first, second) = (ApiClient.NewId(), ApiClient.NewId());
        using var tenantB = _fixture.Client(apiKey: ServiceFixture.TenantBKey);

        await PostAsync(first, [shared]);
        await EmbeddingProbe.WaitUntilIndexedAsync(_api, first);
        await PostAsync(second, [shared, shared]);
        await EmbeddingProbe.WaitUntilIndexedAsync(_api, second);
        await tenantB.AppendTurnAsync(first, "user", shared);
        await EmbeddingProbe.WaitUntilIndexedAsync(tenantB, first);

        // Once for tenant a, once for tenant b: a hash is never shared across tenants.
        Assert.Equal(2, _fixture.Llm.EmbeddedTexts.Count(t => t == shared));
        Assert.Equal(2, await EmbeddingProbe.CountStoredVectorsAsync(_fixture.Factory, shared));
    }

    [Fact]
    public async Task Given_embedding_calls_When_usage_is_read_Then_they_show_the_providers_tokens_and_the_price_table_cost()
    {
        var from = DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O", CultureInfo.InvariantCulture);
        var id = ApiClient.NewId();
        _fixture.Llm.Enqueue(new FakeReply.Answer(PromptTokens: 1_234));
        _fixture.Llm.Default = new FakeReply.Answer(OmitUsage: true);

        await PostAsync(id, [$"Alpha {id}.", $"Beta {id}.", $"Gamma {id}.", $"Delta {id}.", $"Epsilon {id} is counted locally."]);
        await EmbeddingProbe.WaitUntilIndexedAsync(_api, id);

        var usage = (await _api.GetAsync($"/usage?groupBy=conversation&from={Uri.EscapeDataString(from)}")).Expect(HttpStatusCode.OK).Body;
        var group = usage["groups"]!.AsArray().Single(g => g!["key"]!.GetValue<string>() == id)!;
        Assert.Equal(2, group["calls"]!.GetValue<int>());
        // The first call reports 1,234 tokens; the second sends no usage, so its one text is counted in cl100k_base.
        var counted = ConversationService.Tokenizers.ExactTiktokenTokenizer.CreateForModel("text-embedding-3-small").CountTokens($"Epsilon {id} is counted locally.");
        Assert.Equal(1_234 + counted, group["inputTokens"]!.GetValue<int>());
        Assert.Equal((1_234 + counted) * 0.02m / 1_000_000m, group["costUsd"]!.GetValue<decimal>());
        var byType = (await _api.GetAsync($"/usage?groupBy=callType&from={Uri.EscapeDataString(from)}")).Expect(HttpStatusCode.OK).Body;
        Assert.Contains(byType["groups"]!.AsArray(), g => g!["key"]!.GetValue<string>() == "embedding");
    }

    [Fact]
    public async Task Given_a_429_with_retry_after_then_success_When_indexing_Then_it_waits_as_asked_and_indexes_everything()
    {
        var id = ApiClient.NewId();
        _fixture.Llm.Enqueue(new FakeReply.Status(429, RetryAfter: "1"));

        await PostAsync(id, [$"Retry me {id}."]);
        await EmbeddingProbe.WaitUntilIndexedAsync(_api, id);

        var requests = _fixture.Llm.EmbeddingRequests;
        Assert.Equal(2, requests.Count);
        Assert.True(requests[1].At - requests[0].At >= TimeSpan.FromMilliseconds(950), $"{requests[1].At - requests[0].At}");
        Assert.NotNull((await _fixture.Factory.Store().GetVectorsAsync("tenant-a", [$"Retry me {id}."], default))[0]);
    }

    [Fact]
    public async Task Given_a_turn_longer_than_the_input_limit_When_indexed_Then_the_provider_gets_its_first_8191_tokens()
    {
        var id = ApiClient.NewId();
        var text = id + " " + string.Join(" ", Enumerable.Range(1, 12_000).Select(i => $"w{i}"));
        var cl100k = ConversationService.Tokenizers.ExactTiktokenTokenizer.CreateForModel("text-embedding-3-small");

        await PostAsync(id, [text]);
        await EmbeddingProbe.WaitUntilIndexedAsync(_api, id);

        var sent = Assert.Single(_fixture.Llm.EmbeddedTexts, t => t.StartsWith(id, StringComparison.Ordinal));
        Assert.True(cl100k.CountTokens(text) > 8_191);
        Assert.InRange(cl100k.CountTokens(sent), 8_180, 8_191);
        Assert.StartsWith(sent, text, StringComparison.Ordinal);
        // Stored under the whole text's hash: the context looks the turn up by its content.
        Assert.NotNull((await _fixture.Factory.Store().GetVectorsAsync("tenant-a", [text], default))[0]);
    }

    [Fact]
    public async Task Given_a_provider_that_rejects_one_input_When_indexing_Then_the_batch_is_retried_text_by_text_and_the_rest_indexed()
    {
        var id = ApiClient.NewId();
        var (accepted, rejected) = ($"Accepted {id}.", $"Rejected {id}.");
        // The batch of two is refused, then each text alone: the first is embedded, the second refused again.
        _fixture.Llm.Enqueue(new FakeReply.Status(400), new FakeReply.Answer(), new FakeReply.Status(400));

        await PostAsync(id, [accepted, rejected]);
        await EmbeddingProbe.WaitUntilIndexedAsync(_api, id);

        Assert.Equal([2, 1, 1], _fixture.Llm.EmbeddingRequests.Select(r => r.Body["input"]!.AsArray().Count));
        var vectors = await _fixture.Factory.Store().GetVectorsAsync("tenant-a", [accepted, rejected], default);
        Assert.NotNull(vectors[0]);
        Assert.Null(vectors[1]);
    }

    [Fact]
    public async Task Given_the_provider_is_down_When_a_query_is_embedded_Then_null_comes_back_and_the_projection_catches_up_later()
    {
        var id = ApiClient.NewId();
        var texts = Enumerable.Range(1, 6).Select(i => $"Outage turn {i} {id}.").ToArray();
        _fixture.Llm.Default = new FakeReply.Status(503);
        var store = _fixture.Factory.Store();

        var clock = Stopwatch.StartNew();
        var query = await store.EmbedQueryAsync("tenant-a", id, "Where is the meeting " + id, default);
        Assert.Null(query);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"{clock.Elapsed}");
        await PostAsync(id, texts);
        await Task.Delay(1_500);
        var stalled = (await _api.GetConversationAsync(id)).Body;
        Assert.True(stalled["indexedVersion"]!.GetValue<long>() < stalled["version"]!.GetValue<long>());

        _fixture.Llm.Default = new FakeReply.Answer();
        await EmbeddingProbe.WaitUntilIndexedAsync(_api, id, TimeSpan.FromSeconds(30));

        Assert.All(await store.GetVectorsAsync("tenant-a", texts, default), Assert.NotNull);
        Assert.NotNull(await store.EmbedQueryAsync("tenant-a", id, "Where is the meeting " + id, default));
    }

    [Fact]
    public async Task Given_the_provider_down_longer_than_the_lag_limit_When_readiness_is_asked_Then_it_is_Degraded_naming_the_projection_until_it_catches_up()
    {
        var id = ApiClient.NewId();
        // Another replica asks: Marten's progress is in the database, so every replica reports the same. The Degraded
        // readiness it logs is what the test provokes.
        await using var replica = _fixture.CreateFactory(ExpectedLogs.With(new Dictionary<string, string?>
        {
            ["EventStore:MaxLagSeconds"] = "1",
            ["EventStore:RunDaemon"] = "false",
        }, "Microsoft.Extensions.Diagnostics.HealthChecks"));
        using var anonymous = new ApiClient(replica.CreateClient());
        _fixture.Llm.Default = new FakeReply.Status(503);

        await PostAsync(id, [$"Lagging turn {id}."]);
        var degraded = await WaitForEventStoreAsync(anonymous, "Degraded");

        Assert.Contains(EmbeddingProjection.ShardNameOf("text-embedding-3-small"), degraded);
        _fixture.Llm.Default = new FakeReply.Answer();
        await EmbeddingProbe.WaitUntilIndexedAsync(_api, id, TimeSpan.FromSeconds(30));
        await WaitForEventStoreAsync(anonymous, "Healthy");
    }

    /// <summary>Polls /health/ready until the event store check has the status; returns its description.</summary>
    private static async Task<string> WaitForEventStoreAsync(ApiClient anonymous, string status)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var check = (await anonymous.GetAsync("/health/ready")).Body["checks"]!["eventstore"]!;
            if (check["status"]!.GetValue<string>() == status)
            {
                return check["description"]?.GetValue<string>() ?? "";
            }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"The event store check stayed {check.ToJsonString()}. ");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Given_a_deleted_conversation_When_the_projection_catches_up_Then_its_vectors_are_gone_but_shared_content_stays()
    {
        var (deleted, kept) = (ApiClient.NewId(), ApiClient.NewId());
        var (own, shared) = ($"Only in the deleted one {deleted}.", $"In both {deleted}.");
        await PostAsync(deleted, [own, shared]);
        await PostAsync(kept, [shared]);
        await EmbeddingProbe.WaitUntilIndexedAsync(_api, deleted);
        await EmbeddingProbe.WaitUntilIndexedAsync(_api, kept);

        (await _api.DeleteConversationAsync(deleted)).Expect(HttpStatusCode.NoContent);
        await EmbeddingProbe.WaitForVectorsAsync(_fixture.Factory.Store(), "tenant-a", [own], present: false);

        Assert.Equal(0, await EmbeddingProbe.CountStoredVectorsAsync(_fixture.Factory, own));
        Assert.Equal(1, await EmbeddingProbe.CountStoredVectorsAsync(_fixture.Factory, shared));
        Assert.NotNull((await _fixture.Factory.Store().GetVectorsAsync("tenant-a", [shared], default))[0]);
    }

    private async Task PostAsync(string id, IEnumerable<string> texts) =>
        (await _api.AppendAsync(id, new { turns = texts.Select(t => new { role = "user", content = t }).ToArray() }))
            .Expect(HttpStatusCode.Created);

    [Fact]
    public async Task Given_turns_without_vectors_When_context_repeats_Then_it_is_ranked_afresh_until_they_are_indexed_and_then_replayed()
    {
        var id = ApiClient.NewId();
        _fixture.Llm.Default = new FakeReply.Status(503);
        await SummaryProbe.PostTurnsAsync(_api, id, 6);
        var before = CacheCounts.Of(_fixture.Factory);

        (await _api.GetContextAsync(id, "budget=8000")).Expect(HttpStatusCode.OK);
        (await _api.GetContextAsync(id, "budget=8000")).Expect(HttpStatusCode.OK);
        // Ranked lexically while the indexer is behind: the same stamp will rank differently once it catches up.
        var unindexed = CacheCounts.Of(_fixture.Factory) - before;
        _fixture.Llm.Default = new FakeReply.Answer();
        await EmbeddingProbe.WaitUntilIndexedAsync(_api, id, TimeSpan.FromSeconds(30));
        var indexed = (await _api.GetContextAsync(id, "budget=8000")).Expect(HttpStatusCode.OK);
        var replayed = (await _api.GetContextAsync(id, "budget=8000")).Expect(HttpStatusCode.OK);

        Assert.Equal(new CacheCounts(0, 2), unindexed);
        Assert.Equal(new CacheCounts(1, 3), CacheCounts.Of(_fixture.Factory) - before);
        Assert.Equal(indexed.Text, replayed.Text);
    }

    public void Dispose() => _api.Dispose();
}
