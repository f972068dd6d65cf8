using System.Diagnostics;
using ConversationService.Context;
using ConversationService.Tokenizers.Tests;
using Xunit.Abstractions;

namespace ConversationService.Tests.Context;

/// <summary>
/// LoCoMo gate (scripts/eval/run.sh): issue 5's recall targets on the LoCoMo development split with the offline
/// embedder, in process.
/// </summary>
[Trait("Category", LocomoData.Category)]
public sealed class LocomoRecallTests(ITestOutputHelper output)
{
    [Fact]
    public void Given_the_LoCoMo_split_When_every_question_is_asked_Then_evidence_recall_is_at_least_090_at_2000_and_080_at_1000_within_budget()
    {
        var watch = Stopwatch.StartNew();
        var results = LocomoRecall.Run();
        output.WriteLine(LocomoRecall.Table(results));
        output.WriteLine($"{results.Count / LocomoRecall.Budgets.Length} questions x {LocomoRecall.Budgets.Length} budgets in {watch.Elapsed.TotalSeconds:F1} s");

        Assert.All(results, r => Assert.True(r.Tokens <= r.Budget, $"{r.Tokens} > {r.Budget}"));
        Assert.True(LocomoRecall.Recall(results, 2000) >= 0.90, $"recall@2000 {LocomoRecall.Recall(results, 2000):F3}");
        Assert.True(LocomoRecall.Recall(results, 1000) >= 0.80, $"recall@1000 {LocomoRecall.Recall(results, 1000):F3}");
    }
}
