using System.Text.Json.Serialization;

namespace ConversationService.Evaluation.Scoring;

/// <summary>One question at one budget: the service's answer and both baselines on the same question.</summary>
public sealed record QuestionRow(
    string Conversation, int QuestionIndex, int Category, int Budget, int EvidenceCount, double ServiceRecall,
    int ServiceTokens, double LatencyMs, bool OverBudget, double NewestRecall, double Bm25Recall, string Question);

public sealed record CategoryRecall(int Category, int Questions, double ServiceRecall, double NewestRecall, double Bm25Recall);

public sealed record BudgetSummary(
    int Budget, int Questions, double ServiceRecall, IReadOnlyList<CategoryRecall> Categories, double MeanTokens,
    int MaxTokens, int Violations, double LatencyP50Ms, double LatencyP95Ms, double NewestRecall, double Bm25Recall,
    double? ReferenceNewestRecall, double? ReferenceBm25Recall);

public sealed record PrefixSummary(string Conversation, int Budget, int Samples, double Mean, double Median, IReadOnlyList<double> Shares);

public sealed record ConversationInfo(
    string Name, string ServiceId, int Sessions, int Turns, int Questions, int SkippedQuestions, long FullHistoryTokens,
    double IngestSeconds, double IndexWaitSeconds);

public sealed record EvaluationResult(
    string RunId, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, string Model, int Concurrency,
    IReadOnlyList<ConversationInfo> Conversations, IReadOnlyList<BudgetSummary> Budgets, IReadOnlyList<PrefixSummary> PrefixStability,
    [property: JsonIgnore] IReadOnlyList<QuestionRow> Rows);

public static class Aggregation
{
    /// <summary>The protocol README's figures on the LoCoMo development split (o200k_base, 4 tokens per turn).</summary>
    public static readonly IReadOnlyDictionary<int, (double Newest, double Bm25)> Reference = new Dictionary<int, (double, double)>
    {
        [500] = (0.015, 0.608),
        [1000] = (0.035, 0.661),
        [2000] = (0.099, 0.696),
        [4000] = (0.199, 0.754),
    };

    public static IReadOnlyList<BudgetSummary> PerBudget(IReadOnlyList<QuestionRow> rows, IEnumerable<int> budgets) =>
        budgets.Select(budget =>
        {
            var at = rows.Where(r => r.Budget == budget).ToList();
            var categories = at.GroupBy(r => r.Category).OrderBy(g => g.Key)
                .Select(g => new CategoryRecall(
                    g.Key, g.Count(), Metrics.Mean(g.Select(r => r.ServiceRecall)), Metrics.Mean(g.Select(r => r.NewestRecall)),
                    Metrics.Mean(g.Select(r => r.Bm25Recall))))
                .ToList();
            var latencies = at.Select(r => r.LatencyMs).ToList();
            var reference = Reference.TryGetValue(budget, out var figures) ? figures : ((double, double)?)null;
            return new BudgetSummary(
                budget, at.Count, Metrics.Mean(at.Select(r => r.ServiceRecall)), categories,
                Metrics.Mean(at.Select(r => (double)r.ServiceTokens)), at.Count == 0 ? 0 : at.Max(r => r.ServiceTokens),
                at.Count(r => r.OverBudget), Metrics.Percentile(latencies, 50), Metrics.Percentile(latencies, 95),
                Metrics.Mean(at.Select(r => r.NewestRecall)), Metrics.Mean(at.Select(r => r.Bm25Recall)),
                reference?.Item1, reference?.Item2);
        }).ToList();

    public static PrefixSummary Prefix(string conversation, int budget, IReadOnlyList<double> shares) =>
        new(conversation, budget, shares.Count, Metrics.Mean(shares), Metrics.Percentile(shares, 50), shares);
}
