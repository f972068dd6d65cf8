using System.Globalization;
using System.Text;
using System.Text.Json;
using ConversationService.Evaluation.Scoring;

namespace ConversationService.Evaluation.Reports;

/// <summary>report.md, chart.svg, results.json and per-question.csv of one run.</summary>
public static class ReportFiles
{
    public const string Markdown = "report.md";
    public const string Chart = "chart.svg";
    public const string Json = "results.json";
    public const string Csv = "per-question.csv";

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static void Write(EvaluationResult result, string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, Markdown), MarkdownReport.Render(result));
        File.WriteAllText(Path.Combine(directory, Chart), RecallChart.Render(result.Budgets));
        File.WriteAllText(Path.Combine(directory, Json), JsonSerializer.Serialize(result, JsonOptions));
        File.WriteAllText(Path.Combine(directory, Csv), RenderCsv(result.Rows));
    }

    public static string RenderCsv(IEnumerable<QuestionRow> rows)
    {
        var csv = new StringBuilder(
            "conversation,question_index,category,budget,evidence_count,service_recall,service_tokens,latency_ms,"
            + "over_budget,newest_recall,bm25_recall,question\n");
        foreach (var r in rows)
        {
            csv.Append(CultureInfo.InvariantCulture,
                $"{r.Conversation},{r.QuestionIndex},{r.Category},{r.Budget},{r.EvidenceCount},{r.ServiceRecall:R},")
                .Append(CultureInfo.InvariantCulture,
                    $"{r.ServiceTokens},{r.LatencyMs:0.###},{(r.OverBudget ? "true" : "false")},{r.NewestRecall:R},{r.Bm25Recall:R},")
                .Append('"').Append(r.Question.Replace("\"", "\"\"", StringComparison.Ordinal)).Append("\"\n");
        }
        return csv.ToString();
    }
}
