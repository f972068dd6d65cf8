using System.Globalization;
using System.Text;
using ConversationService.Evaluation.Scoring;

namespace ConversationService.Evaluation.Reports;

public static class MarkdownReport
{
    public static readonly IReadOnlyDictionary<int, string> CategoryNames = new Dictionary<int, string>
    {
        [1] = "multi-hop",
        [2] = "temporal",
        [3] = "open-domain",
        [4] = "single-hop",
    };

    public static string Render(EvaluationResult result)
    {
        var md = new StringBuilder();
        Line(md, $"# LoCoMo evidence recall, run {result.RunId}");
        Line(md);
        Line(md, $"Model {result.Model}, concurrency {result.Concurrency}, {result.StartedAt:yyyy-MM-dd HH:mm:ss}Z to "
            + $"{result.FinishedAt:HH:mm:ss}Z. Recall = share of a question's evidence turn ids among the items of the "
            + "context's `recent` and `recalled` sections; categories 1-4; baselines computed locally with the same "
            + "token accounting.");
        Line(md);
        Line(md, "| conversation | service id | sessions | turns | questions | skipped (no evidence) | full history tokens | ingest s | index wait s |");
        Line(md, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var c in result.Conversations)
        {
            Line(md, $"| {c.Name} | {c.ServiceId} | {c.Sessions} | {c.Turns} | {c.Questions} | {c.SkippedQuestions} | "
                + $"{c.FullHistoryTokens} | {c.IngestSeconds:0.0} | {c.IndexWaitSeconds:0.0} |");
        }

        Line(md);
        Line(md, "## Evidence recall by budget");
        Line(md);
        Line(md, "| budget | questions | service recall | newest turns (ours / reference) | BM25 (ours / reference) | mean tokens | max tokens | over budget | latency p50 ms | latency p95 ms |");
        Line(md, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var b in result.Budgets)
        {
            Line(md, $"| {b.Budget} | {b.Questions} | **{b.ServiceRecall:0.000}** | {b.NewestRecall:0.000} / {Reference(b.ReferenceNewestRecall)} | "
                + $"{b.Bm25Recall:0.000} / {Reference(b.ReferenceBm25Recall)} | {b.MeanTokens:0} | {b.MaxTokens} | {b.Violations} | "
                + $"{b.LatencyP50Ms:0.0} | {b.LatencyP95Ms:0.0} |");
        }

        Line(md);
        Line(md, "## Service recall by category (newest / BM25 in brackets)");
        Line(md);
        var categories = result.Budgets.SelectMany(b => b.Categories.Select(c => c.Category)).Distinct().Order().ToList();
        Line(md, "| budget | " + string.Join(" | ", categories.Select(c => $"{c} {CategoryNames.GetValueOrDefault(c, "?")}")) + " |");
        Line(md, "|---:|" + string.Concat(categories.Select(_ => "---:|")));
        foreach (var b in result.Budgets)
        {
            var cells = categories.Select(c => b.Categories.FirstOrDefault(x => x.Category == c) is { } r
                ? $"{r.ServiceRecall:0.000} ({r.NewestRecall:0.000} / {r.Bm25Recall:0.000}), n={r.Questions}"
                : "-");
            Line(md, $"| {b.Budget} | " + string.Join(" | ", cells) + " |");
        }

        Line(md);
        Line(md, "## Prefix stability");
        Line(md);
        Line(md, "Share of the previous context's message tokens that the next context (after one more session was "
            + "appended, no query) repeats as identical leading messages: what a provider's prompt cache could reuse.");
        Line(md);
        Line(md, "| conversation | budget | samples | mean | median |");
        Line(md, "|---|---:|---:|---:|---:|");
        foreach (var p in result.PrefixStability)
        {
            Line(md, $"| {p.Conversation} | {p.Budget} | {p.Samples} | {p.Mean:0.000} | {p.Median:0.000} |");
        }

        Line(md);
        Line(md, "## Targets");
        Line(md);
        foreach (var target in Targets(result.Budgets))
        {
            Line(md, $"- {target}");
        }
        return md.ToString();
    }

    /// <summary>Issue 5's goals: recall >= 0.90 at 2,000 and >= 0.80 at 1,000 tokens, never over budget; p95 noted.</summary>
    public static IEnumerable<string> Targets(IReadOnlyList<BudgetSummary> budgets)
    {
        yield return RecallTarget(budgets, 2000, 0.90);
        yield return RecallTarget(budgets, 1000, 0.80);
        var violations = budgets.Sum(b => b.Violations);
        yield return $"no response over budget: {(violations == 0 ? "met" : $"MISSED ({violations} responses over budget)")}";
        yield return "latency p95 (client side): "
            + string.Join(", ", budgets.Select(b => string.Create(CultureInfo.InvariantCulture, $"{b.LatencyP95Ms:0.0} ms @{b.Budget}")));
    }

    private static string RecallTarget(IReadOnlyList<BudgetSummary> budgets, int budget, double goal) =>
        budgets.FirstOrDefault(b => b.Budget == budget) is { } at
            ? string.Create(CultureInfo.InvariantCulture,
                $"recall >= {goal:0.00} @{budget}: {at.ServiceRecall:0.000} {(at.ServiceRecall >= goal ? "met" : "MISSED")}")
            : $"recall >= {goal:0.00} @{budget}: not measured (budget {budget} not in --budgets)";

    private static string Reference(double? value) => value is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) : "-";

    private static void Line(StringBuilder md, string text = "") => md.Append(text).Append('\n');
}
