using System.Net;
using Microsoft.Extensions.DependencyInjection;
using ConversationService.Relevance;
using ConversationService.Tests.Infrastructure;
using Marten;

namespace ConversationService.Tests.Embeddings;

[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class OfflineEmbeddingTests(ServiceFixture fixture)
{
    [Fact]
    public async Task Given_no_provider_configured_When_turns_are_appended_Then_they_count_as_indexed_at_once_and_nothing_is_stored_or_recorded()
    {
        using var api = fixture.Client(apiKey: ServiceFixture.TenantBKey);
        var id = ApiClient.NewId();
        var text = $"Caroline went to the support group {id}.";

        (await api.AppendTurnAsync(id, "user", text)).Expect(HttpStatusCode.Created);

        // Offline vectors are a function of the text, computed where needed: no projection stores them, so nothing
        // is left to wait for.
        var conversation = (await api.GetConversationAsync(id)).Expect(HttpStatusCode.OK).Body;
        Assert.Equal(conversation["version"]!.GetValue<long>(), conversation["indexedVersion"]!.GetValue<long>());
        var daemon = ((DocumentStore)fixture.Factory.Services.GetRequiredService<IDocumentStore>()).Options.Projections;
        Assert.DoesNotContain(daemon.AllShards(), s => s.Name.Identity.StartsWith("embeddings_", StringComparison.Ordinal));
        Assert.DoesNotContain(fixture.Factory.Services.GetServices<ConversationService.Conversations.IndexingProjection>(), p => p.Runs);
        var store = fixture.Factory.Store();
        Assert.Equal(LexicalEmbeddingGenerator.ModelId, store.ModelId);
        var vector = (await fixture.Factory.Vectors().ForAsync("tenant-b", [text], default))[0];
        AssertSameVector(new LexicalEmbeddingGenerator().Embed(text), vector);
        AssertSameVector(vector, await store.EmbedQueryAsync("tenant-b", id, text, default));
        var usage = (await api.GetAsync("/usage?groupBy=callType")).Expect(HttpStatusCode.OK).Body;
        Assert.DoesNotContain(usage["groups"]!.AsArray(), g => g!["key"]!.GetValue<string>() == "embedding");
    }

    [Fact]
    public async Task Given_other_offline_dimensions_When_configured_Then_vectors_have_them()
    {
        var text = "Melanie painted a sunrise over the lake.";
        await using var resized = fixture.CreateFactory(new Dictionary<string, string?> { ["Embeddings:Dimensions"] = "256" });
        using var client = resized.CreateClient(); // starts the host

        var store = resized.Store();
        Assert.Equal($"{LexicalEmbeddingGenerator.ModelId}@256", store.ModelId);
        AssertSameVector(new LexicalEmbeddingGenerator(256).Embed(text), (await resized.Vectors().ForAsync("tenant-a", [text], default))[0]);
        AssertSameVector(new LexicalEmbeddingGenerator(256).Embed(text), await store.EmbedQueryAsync("tenant-a", "c", text, default));
        Assert.Equal(1024, (await fixture.Factory.Vectors().ForAsync("tenant-a", [text], default))[0]!.Length);
    }

    [Theory]
    [InlineData("Embeddings:Provider", "cohere", "Embeddings:Provider")]
    [InlineData("Embeddings:Provider", "openai", "Llm:ApiKey")]
    [InlineData("Embeddings:BatchSize", "0", "Embeddings:BatchSize")]
    [InlineData("Embeddings:Dimensions", "8", "Embeddings:Dimensions")]
    public void Given_an_invalid_embedding_setting_When_the_service_starts_Then_it_refuses_naming_the_key(
        string key, string value, string named)
    {
        ServiceEntryPoint.AssertRefusesToStart(fixture.StartSettings(new Dictionary<string, string?> { [key] = value }), named);
    }

    /// <summary>
    /// Equal up to float rounding: the JIT may compile the SIMD norm differently at another tier, so the same text
    /// embedded earlier by the projection and now by the test can differ in the last bit.
    /// </summary>
    private static void AssertSameVector(float[]? expected, float[]? actual)
    {
        Assert.NotNull(expected);
        Assert.NotNull(actual);
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-6f);
        }
    }
}
