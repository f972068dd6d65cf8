using System.Diagnostics;
using System.Net;
using ConversationService.Embeddings;
using ConversationService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace ConversationService.Tests.Embeddings;

/// <summary>
/// The figures the context endpoint depends on, on a 600-turn conversation with the offline embedder: how fast the
/// projection indexes, and what reading every turn's vector costs from memory and from PostgreSQL. Bounds are loose
/// (the machine is shared); the printed figures are the measurement.
/// </summary>
[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class EmbeddingSpeedTests(ServiceFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Given_600_turns_When_indexed_and_read_Then_every_vector_comes_back_within_the_context_latency_budget()
    {
        using var api = fixture.Client();
        var id = ApiClient.NewId();
        var texts = Enumerable.Range(1, 600).Select(i =>
            $"Turn {i}: on day {i % 30} Caroline told Melanie about the {i % 17}th painting class and the support group meeting {id}.").ToArray();
        var clock = Stopwatch.StartNew();
        foreach (var batch in texts.Chunk(100))
        {
            (await api.AppendAsync(id, new { turns = batch.Select(t => new { role = "user", content = t }).ToArray() }))
                .Expect(HttpStatusCode.Created);
        }
        await EmbeddingProbe.WaitUntilIndexedAsync(api, id);
        var indexing = clock.Elapsed;

        var store = fixture.Factory.Store();
        var cached = await MedianAsync(() => store.GetVectorsAsync("tenant-a", texts, default));
        // A store of its own per read: an empty cache, so every vector comes from PostgreSQL.
        var fromDatabase = await MedianAsync(async () =>
        {
            using var cold = ActivatorUtilities.CreateInstance<EmbeddingStore>(fixture.Factory.Services);
            return await cold.GetVectorsAsync("tenant-a", texts, default);
        });

        output.WriteLine($"600 turns posted and indexed in {indexing.TotalMilliseconds:F0} ms; vectors of 600 turns (median of 5): "
            + $"memory {cached.Elapsed.TotalMilliseconds:F2} ms, PostgreSQL {fromDatabase.Elapsed.TotalMilliseconds:F2} ms");
        Assert.All(cached.Vectors, Assert.NotNull);
        Assert.All(fromDatabase.Vectors, Assert.NotNull);
        Assert.True(cached.Elapsed < TimeSpan.FromMilliseconds(100), $"{cached.Elapsed}");
        Assert.True(indexing < TimeSpan.FromSeconds(30), $"{indexing}");
    }

    private static async Task<(TimeSpan Elapsed, float[]?[] Vectors)> MedianAsync(Func<Task<float[]?[]>> read)
    {
        var vectors = await read(); // warm-up: JIT and connection pool
        var times = new List<TimeSpan>();
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            vectors = await read();
            times.Add(clock.Elapsed);
        }
        return (times.Order().ElementAt(2), vectors);
    }
}
