using System.Diagnostics;
using System.Globalization;
using ConversationService.Context;
using ConversationService.Embeddings;
using ConversationService.Relevance;
using ConversationService.Tokenizers.Tests;
using Xunit.Abstractions;
using static ConversationService.Tests.Context.LocomoRecall;

namespace ConversationService.Tests.Context;

/// <summary>
/// LoCoMo gates (scripts/eval/run.sh): evidence recall on the LoCoMo development split, in process, for each embedder
/// the service ranks with, at floors no change may go below (what was reached, rounded down).
/// </summary>
[Trait("Category", LocomoData.Category)]
public sealed class LocomoRecallTests(ITestOutputHelper output)
{
    private static readonly float[] LexicalShares = [0.3f, 0.5f, 0.7f];
    private static readonly float[] CosineFloors = [0f, 0.4f];

    [Fact]
    public void Given_the_lexical_hash_When_every_question_is_asked_Then_recall_is_at_least_080_086_091_094_within_budget() =>
        Gate(Arm.Lexical, [0.80, 0.86, 0.91, 0.94]);

    [Fact]
    public void Given_the_local_model_fused_with_BM25_When_every_question_is_asked_Then_recall_is_at_least_085_090_095_098_within_budget() =>
        Gate(Arm.Fused, [0.85, 0.90, 0.95, 0.98]);

    /// <summary>
    /// As over HTTP, where the rolling summary takes part of the window: the summary the service writes with no LLM
    /// configured, which takes its share only beyond <see cref="ContextAssembly.TurnsBeforeSummary"/>.
    /// </summary>
    [Fact]
    public void Given_the_local_model_and_the_rolling_summary_When_every_question_is_asked_Then_recall_is_at_least_085_090_095_098_within_budget() =>
        Gate(Arm.Fused, [0.85, 0.90, 0.95, 0.98], summary: true);

    /// <summary>
    /// The ablation's middle row: the model's cosine alone recalls less than the lexical hash at small budgets and more at
    /// large ones; fused with BM25 it recalls more than either.
    /// </summary>
    [Fact]
    public void Given_the_local_model_alone_When_every_question_is_asked_Then_the_fused_ranking_recalls_more_at_every_budget()
    {
        var alone = Measure(Arm.Model);
        var fused = Run(Arm.Fused);

        Assert.All(alone, r => Assert.True(r.Tokens <= r.Budget, $"{r.Tokens} > {r.Budget}"));
        Assert.All(Budgets, b => Assert.True(Recall(fused, b) > Recall(alone, b), $"at {b}: fused {Recall(fused, b):F3}, model alone {Recall(alone, b):F3}"));
    }

    /// <summary>
    /// Against tuning to the split: the weights chosen on one half of the conversations (best mean recall over the
    /// budgets) are scored on the other half, and still beat the lexical hash there at every budget.
    /// </summary>
    [Fact]
    public void Given_weights_tuned_on_half_the_conversations_When_scored_on_the_other_half_Then_they_beat_the_lexical_hash_there()
    {
        FusionWeights[] grid =
        [
            .. LexicalShares.SelectMany(_ => CosineFloors, (l, f) => ArcticModel.Fusion with { Lexical = l, CosineFloor = f }),
            ArcticModel.Fusion with { Lexical = FusionWeights.LexicalHash.Lexical, CosineFloor = FusionWeights.LexicalHash.CosineFloor },
        ];
        var halves = LocomoRecall.Conversations.Select((c, i) => (c, i)).GroupBy(x => x.i % 2, x => x.c).Select(g => g.ToArray()).ToArray();
        for (var fold = 0; fold < 2; fold++)
        {
            var (tune, test) = (halves[fold], halves[1 - fold]);
            var best = grid.MaxBy(w => Budgets.Average(b => Recall(Run(Arm.Fused, fusion: w, conversations: tune), b)))!;
            var heldOut = Run(Arm.Fused, fusion: best, conversations: test);
            var chosen = Run(Arm.Fused, conversations: test);
            var lexical = Run(Arm.Lexical, conversations: test);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"tuned on {string.Join(",", tune.Select(c => c.File))}: lexical {best.Lexical}, floor {best.CosineFloor}; on {string.Join(",", test.Select(c => c.File))}: "
                + $"{Row(heldOut)} (shipped weights {Row(chosen)}, lexical hash {Row(lexical)})"));
            Assert.All(Budgets, b => Assert.True(Recall(heldOut, b) > Recall(lexical, b), $"fold {fold} at {b}"));
        }
    }

    private void Gate(Arm arm, double[] floors, bool summary = false)
    {
        var results = Measure(arm, summary);
        Assert.All(results, r => Assert.True(r.Tokens <= r.Budget, $"{r.Tokens} > {r.Budget}"));
        for (var i = 0; i < Budgets.Length; i++)
        {
            Assert.True(Recall(results, Budgets[i]) >= floors[i], $"{arm} recall@{Budgets[i]} {Recall(results, Budgets[i]):F3} < {floors[i]}");
        }
    }

    private List<Result> Measure(Arm arm, bool summary = false)
    {
        var watch = Stopwatch.StartNew();
        var results = Run(arm, summary: summary);
        output.WriteLine($"{arm}{(summary ? ", rolling summary" : "")}:\n{Table(results)}");
        output.WriteLine($"{results.Count / Budgets.Length} questions x {Budgets.Length} budgets in {watch.Elapsed.TotalSeconds:F1} s (embedding included)");
        return results;
    }

    private static string Row(List<Result> results) =>
        string.Join(" / ", Budgets.Select(b => Recall(results, b).ToString("F3", CultureInfo.InvariantCulture)));
}
