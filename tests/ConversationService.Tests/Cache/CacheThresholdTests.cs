using System.Globalization;
using System.Numerics.Tensors;
using System.Text.Json;
using ConversationService.Cache;
using ConversationService.Embeddings;
using ConversationService.Tests.Embeddings;
using ConversationService.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ConversationService.Tests.Cache;

/// <summary>
/// The default threshold, measured with the local model over cache-pairs.json: paraphrases that should hit and
/// near-misses (other amounts, dates, quantities, negations, names, other questions) that must not.
/// </summary>
[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class CacheThresholdTests(ServiceFixture fixture, ITestOutputHelper output)
{
    private sealed record Pair(string A, string B, bool Hit, string Kind);

    /// <summary>The recall at the default threshold (0.891, README), less a margin for numeric noise across machines.</summary>
    private const double MeasuredRecall = 0.87;

    [Fact]
    public async Task Given_the_measured_pairs_When_decided_at_the_default_threshold_Then_no_near_miss_hits_and_recall_holds()
    {
        var pairs = JsonSerializer.Deserialize<Pair[]>(
            await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Cache", "cache-pairs.json")), JsonSerializerOptions.Web)!;
        await using var factory = fixture.CreateFactory(new Dictionary<string, string?> { ["Embeddings:Provider"] = "model" });
        var store = factory.Store();
        Assert.Equal(ArcticModel.Id, store.ModelId);
        var questions = pairs.SelectMany(p => new[] { p.A, p.B }).Distinct().ToDictionary(q => q, CacheDecisions.Parse);
        var texts = questions.Values.Select(q => q.Text).Distinct().ToArray();
        var vectors = texts.Zip(await store.EmbedAsync("tenant-a", null, texts, default)).ToDictionary(t => t.First, t => t.Second);
        var scored = pairs.Select(p => (Pair: p, Cosine: (double)TensorPrimitives.Dot(vectors[questions[p.A].Text], vectors[questions[p.B].Text]),
            Guards: CacheDecisions.SameGuards(questions[p.A], questions[p.B]))).ToArray();

        output.WriteLine($"{pairs.Length} pairs: {pairs.Count(p => p.Hit)} should hit, {pairs.Count(p => !p.Hit)} must not");
        output.WriteLine("threshold | precision | recall | false hits | false hits without guards");
        for (var threshold = 0.60; threshold <= 0.985; threshold += threshold < 0.795 ? 0.05 : 0.01)
        {
            var (precision, recall, falseHits) = Measure(scored.Select(s => (s.Pair.Hit, Decided: s.Guards && s.Cosine >= threshold)));
            var unguarded = scored.Count(s => !s.Pair.Hit && s.Cosine >= threshold);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{threshold:0.00} | {precision:0.000} | {recall:0.000} | {falseHits} | {unguarded}"));
        }
        foreach (var (pair, cosine, guards) in scored.Where(s => s.Pair.Hit != (s.Guards && s.Cosine >= CacheDecisions.DefaultThreshold)))
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrong at default: {pair.Kind} {cosine:0.000} guards={guards}: {pair.A} | {pair.B}"));
        }

        var (atDefault, recallAtDefault, _) = Measure(scored.Select(s =>
            (s.Pair.Hit, Decided: CacheDecisions.IsHit(s.Cosine, CacheDecisions.DefaultThreshold, questions[s.Pair.A], questions[s.Pair.B]))));
        Assert.Equal(1.0, atDefault);
        Assert.True(recallAtDefault >= MeasuredRecall, $"recall {recallAtDefault:0.000} < {MeasuredRecall}");
    }

    private static (double Precision, double Recall, int FalseHits) Measure(IEnumerable<(bool Expected, bool Decided)> decisions)
    {
        var all = decisions.ToArray();
        var truePositives = all.Count(d => d.Expected && d.Decided);
        var falseHits = all.Count(d => !d.Expected && d.Decided);
        var precision = truePositives + falseHits == 0 ? 1 : truePositives / (double)(truePositives + falseHits);
        return (precision, truePositives / (double)all.Count(d => d.Expected), falseHits);
    }
}
