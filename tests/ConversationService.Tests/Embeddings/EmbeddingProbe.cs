using System.Diagnostics;
using System.Net;
using ConversationService.Embeddings;
using ConversationService.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Marten;

namespace ConversationService.Tests.Embeddings;

/// <summary>Waits and looks for the vector index through the public API and the service's own store.</summary>
public static class EmbeddingProbe
{
    public static EmbeddingStore Store(this WebApplicationFactory<Program> factory) =>
        factory.Services.GetRequiredService<EmbeddingStore>();

    /// <summary>The vectors the context endpoint ranks with (offline: computed in process).</summary>
    public static ConversationService.Context.ContextVectors Vectors(this WebApplicationFactory<Program> factory) =>
        factory.Services.GetRequiredService<ConversationService.Context.ContextVectors>();

    /// <summary>Polls GET /conversations/{id} until indexedVersion equals version; returns that version.</summary>
    public static async Task<long> WaitUntilIndexedAsync(ApiClient api, string id, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var body = (await api.GetConversationAsync(id)).Expect(HttpStatusCode.OK).Body;
            var (version, indexed) = (body["version"]!.GetValue<long>(), body["indexedVersion"]!.GetValue<long>());
            if (indexed == version)
            {
                return version;
            }
            Assert.True(clock.Elapsed < (timeout ?? TimeSpan.FromSeconds(20)), $"indexedVersion {indexed} never reached version {version}");
            await Task.Delay(50);
        }
    }

    /// <summary>Polls until every text has a stored vector (or, with <paramref name="present"/> false, none has).</summary>
    public static async Task<float[]?[]> WaitForVectorsAsync(
        EmbeddingStore store, string tenant, IReadOnlyList<string> texts, bool present = true)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var vectors = await store.GetVectorsAsync(tenant, texts, default);
            if (vectors.All(v => (v is not null) == present))
            {
                return vectors;
            }
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"vectors never became {(present ? "present" : "absent")}");
            await Task.Delay(50);
        }
    }

    /// <summary>Stored vector documents for a text's content hash in any tenant and model.</summary>
    public static async Task<long> CountStoredVectorsAsync(WebApplicationFactory<Program> factory, string text)
    {
        var hash = Convert.ToHexString(EmbeddingStore.Hash(text));
        await using var session = factory.Services.GetRequiredService<IDocumentStore>().QuerySession();
        return await session.Query<EmbeddingVector>().Where(v => v.AnyTenant() && v.Hash == hash).LongCountAsync();
    }
}
