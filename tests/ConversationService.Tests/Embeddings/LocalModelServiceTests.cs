using System.Net;
using System.Numerics.Tensors;
using System.Text.Json.Nodes;
using ConversationService.Conversations;
using ConversationService.Embeddings;
using ConversationService.Relevance;
using ConversationService.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ConversationService.Tests.Embeddings;

/// <summary>The service with the local model: the default provider, and the fallback when it cannot load.</summary>
[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class LocalModelServiceTests(ServiceFixture fixture)
{
    [Fact]
    public async Task Given_the_default_provider_When_turns_are_appended_Then_the_model_embeds_them_off_the_request_path_and_recall_follows_meaning()
    {
        // The fixture's hosts run the lexical hash; the model is the service's default (appsettings.json sets none).
        Assert.Equal(EmbeddingOptions.LocalModel, new EmbeddingOptions().Provider);
        await using var factory = fixture.CreateFactory(new Dictionary<string, string?> { ["Embeddings:Provider"] = "model" });
        using var api = Client(factory);
        var id = ApiClient.NewId();
        var turns = Enumerable.Range(1, 40).Select(i => new
        {
            id = $"t{i}",
            role = i % 2 == 1 ? "user" : "assistant",
            name = i % 2 == 1 ? "Caroline" : "Melanie",
            content = i == 11 ? "Melanie adopted a puppy named Oscar last spring."
                : $"Melanie and Caroline chatted about the weather and lunch, message {i}.",
        }).ToArray();

        (await api.AppendAsync(id, new { turns })).Expect(HttpStatusCode.Created);
        var version = await EmbeddingProbe.WaitUntilIndexedAsync(api, id, TimeSpan.FromSeconds(60));

        var store = factory.Store();
        Assert.Equal(ArcticModel.Id, store.ModelId);
        Assert.Contains(factory.Services.GetServices<IndexingProjection>(), p => p.Runs);
        Assert.Equal(turns.Length + 1, version); // indexedVersion waited for the projection
        var generator = factory.Services.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        // The append's newest user turn (t39) is embedded as a query in the background, before any context asks for it.
        var newest = turns[38].content;
        var warmed = store.CachedQuery("tenant-a", newest);
        for (var waited = 0; warmed is null && waited < 600; waited++)
        {
            await Task.Delay(50);
            warmed = store.CachedQuery("tenant-a", newest);
        }
        Assert.Equal((await generator.GenerateAsync([newest], EmbeddingPurpose.Query()))[0].Vector.ToArray(), warmed);
        Assert.Null(store.CachedQuery("tenant-a", turns[39].content)); // assistant turns are not queries
        var expected = await generator.GenerateAsync([turns[10].content]);
        var stored = (await store.GetVectorsAsync("tenant-a", [turns[10].content], default))[0]!;
        Assert.True(TensorPrimitives.CosineSimilarity(expected[0].Vector.Span, stored) > 0.99999f);
        Assert.Equal(1, await EmbeddingProbe.CountStoredVectorsAsync(factory, turns[10].content));

        const string question = "Does anyone here own a dog?"; // no word in common with the answer
        var reply = (await api.GetContextAsync(id, "budget=300&query=" + Uri.EscapeDataString(question))).Expect(HttpStatusCode.OK).Body;

        var recalled = reply["sections"]!.AsArray().Single(s => s!["kind"]!.GetValue<string>() == "recalled")!;
        Assert.Equal("t11", recalled["items"]!.AsArray().MaxBy(i => i!["score"]!.GetValue<double>())!["id"]!.GetValue<string>());
        // The query was embedded as a query (Arctic's prefix) and is cached apart from the document vectors.
        var query = await store.EmbedQueryAsync("tenant-a", id, question, default);
        var asQuery = await generator.GenerateAsync([question], EmbeddingPurpose.Query());
        Assert.Equal(asQuery[0].Vector.ToArray(), query);
        Assert.Same(query, await store.EmbedQueryAsync("tenant-a", id, question, default));
        // A caller's candidates are embedded as documents on the request path, cached by text, never stored.
        string[] candidates = ["Anyone visiting us meets our puppy Rex.", "Anyone visiting us pays the entry fee."]; // one word of the question each
        var embedded = await store.EmbedTransientAsync("tenant-a", candidates, default);
        var documents = await generator.GenerateAsync(candidates);
        Assert.All(candidates.Select((_, i) => i),
            i => Assert.True(TensorPrimitives.CosineSimilarity(documents[i].Vector.Span, embedded[i]) > 0.99999f));
        Assert.Same(embedded[0], (await store.EmbedTransientAsync("tenant-a", [candidates[0]], default))[0]);
        Assert.Equal(0, await EmbeddingProbe.CountStoredVectorsAsync(factory, candidates[0]));
        var ranked = (await api.SendAsync(HttpMethod.Post, $"/conversations/{id}/context", new
        {
            budget = 2000, query = question,
            candidates = new[] { new { id = "invoice", text = candidates[1] }, new { id = "dog", text = candidates[0] } },
        })).Expect(HttpStatusCode.OK).Body;
        var knowledge = ranked["sections"]!.AsArray().SingleOrDefault(s => s!["kind"]!.GetValue<string>() == "knowledge");
        Assert.Equal("dog", knowledge?["items"]!.AsArray()[0]!["id"]!.GetValue<string>());
        // Local calls cost nothing and are not LLM calls.
        var usage = (await api.GetAsync("/usage?groupBy=callType")).Expect(HttpStatusCode.OK).Body;
        Assert.DoesNotContain(usage["groups"]!.AsArray(), g => g!["key"]!.GetValue<string>() == "embedding");
    }

    [Fact]
    public async Task Given_the_model_When_examples_are_asked_Then_only_those_that_mean_the_same_are_served()
    {
        // Arctic's cosines of unrelated texts sit near 0.5: a raw cosine against the example threshold served them all.
        await using var factory = fixture.CreateFactory(new Dictionary<string, string?> { ["Embeddings:Provider"] = "model" });
        using var api = Client(factory);
        var task = "support-" + Guid.NewGuid().ToString("N")[..8];
        var examples = new[]
        {
            ("password", "I forgot my password and cannot sign in to my account.", "Use the reset link on the sign-in page."),
            ("invoice", "Where can I download last month's invoice as a PDF?", "Billing, then Invoices."),
            ("weather", "Will it rain in Lisbon tomorrow afternoon?", "Check a forecast service."),
        };
        foreach (var (exampleId, input, output) in examples)
        {
            (await api.SendAsync(HttpMethod.Put, $"/examples/{task}-{exampleId}", new { input, output, task })).Expect(HttpStatusCode.Created);
        }
        await EmbeddingProbe.WaitForVectorsAsync(factory.Store(), "tenant-a", [.. examples.Select(e => e.Item2)]);
        var id = ApiClient.NewId();
        (await api.AppendTurnAsync(id, "user", "Hello")).Expect(HttpStatusCode.Created);

        var reply = (await api.GetContextAsync(id, $"budget=2000&examples=3&task={task}&query="
            + Uri.EscapeDataString("Help, the login keeps rejecting my credentials, how do I get back in?"))).Expect(HttpStatusCode.OK).Body;

        var served = reply["sections"]!.AsArray().Single(s => s!["kind"]!.GetValue<string>() == "examples")!;
        Assert.Equal([$"{task}-password"], served["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Given_a_model_that_cannot_load_When_the_service_starts_Then_it_warns_without_content_and_runs_on_the_lexical_hash()
    {
        var sink = new LogSink();
        var vocabulary = new MemoryStream("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"u8.ToArray());
        await using var factory = fixture.CreateFactory(ExpectedLogs.With(
                new Dictionary<string, string?> { ["Embeddings:Provider"] = "model" }, typeof(EmbeddingModel).FullName!))
            .WithWebHostBuilder(web => web.ConfigureTestServices(services =>
            {
                // A corrupt graph: ONNX Runtime's own refusal, as with a damaged or missing resource.
                services.AddSingleton<LoadArcticModel>(() => ArcticModel.Load(new MemoryStream(new byte[4096]), vocabulary));
                services.AddSingleton<ILoggerProvider>(sink);
            }));
        using var api = Client(factory);
        var id = ApiClient.NewId();
        const string secret = "My locker code is 4711 and it opens the blue door.";

        (await api.AppendTurnAsync(id, "user", secret)).Expect(HttpStatusCode.Created);
        var conversation = (await api.GetConversationAsync(id)).Expect(HttpStatusCode.OK).Body;

        var warning = Assert.Single(sink.Entries, e => e.Category == typeof(EmbeddingModel).FullName);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains($"{ArcticModel.Id} could not be loaded, falling back to {LexicalEmbeddingGenerator.ModelId}: OnnxRuntimeException", warning.Text);
        Assert.DoesNotContain(sink.Entries, e => e.Text.Contains("4711", StringComparison.Ordinal));
        Assert.Equal(LexicalEmbeddingGenerator.ModelId, factory.Store().ModelId);
        Assert.IsType<LexicalEmbeddingGenerator>(factory.Services.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());
        Assert.DoesNotContain(factory.Services.GetServices<IndexingProjection>(), p => p.Runs);
        Assert.Equal(conversation["version"]!.GetValue<long>(), conversation["indexedVersion"]!.GetValue<long>());
        (await api.GetContextAsync(id, "budget=200&query=locker")).Expect(HttpStatusCode.OK);
    }

    private static ApiClient Client(WebApplicationFactory<Program> factory)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", ServiceFixture.TenantAKey);
        return new ApiClient(client);
    }
}
