using System.Text.RegularExpressions;
using System.Xml.Linq;
using ConversationService.Evaluation.Reports;
using ConversationService.Evaluation.Scoring;

namespace ConversationService.Evaluation.Tests;

public sealed class ReportTests
{
    private static readonly IReadOnlyList<QuestionRow> Rows =
    [
        new("conv-1", 0, 1, 1000, 2, 0.5, 900, 4.0, false, 0.0, 0.5, "Who, \"exactly\"?"),
        new("conv-1", 1, 4, 1000, 1, 0.0, 1001, 6.0, true, 0.0, 1.0, "Where?"),
        new("conv-1", 0, 1, 2000, 2, 1.0, 1500, 5.0, false, 0.5, 0.5, "Who, \"exactly\"?"),
        new("conv-1", 1, 4, 2000, 1, 1.0, 1800, 9.0, false, 1.0, 1.0, "Where?"),
        new("conv-1", 0, 1, 4000, 2, 1.0, 1500, 5.0, false, 0.5, 1.0, "Who, \"exactly\"?"),
        new("conv-1", 1, 4, 4000, 1, 1.0, 1800, 7.0, false, 1.0, 1.0, "Where?"),
    ];

    private static EvaluationResult Result() => new(
        "20260101T000000Z", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddMinutes(3), "gpt-4o", 4,
        [new ConversationInfo("conv-1", "locomo-x-conv-1", 2, 9, 2, 0, 321, 1.5, 0.2)],
        Aggregation.PerBudget(Rows, [1000, 2000, 4000]),
        [Aggregation.Prefix("conv-1", 2000, [1.0, 0.5, 0.0])], Rows);

    [Fact]
    public void Given_rows_When_summarized_per_budget_Then_means_maxima_violations_and_references_follow_from_them()
    {
        var at1000 = Aggregation.PerBudget(Rows, [1000]).Single();

        Assert.Equal((2, 0.25, 950.5, 1001, 1), (at1000.Questions, at1000.ServiceRecall, at1000.MeanTokens, at1000.MaxTokens, at1000.Violations));
        Assert.Equal((0.0, 0.75), (at1000.NewestRecall, at1000.Bm25Recall));
        Assert.Equal((5.0, 5.9), (at1000.LatencyP50Ms, Math.Round(at1000.LatencyP95Ms, 9)));
        Assert.Equal([(1, 0.5), (4, 0.0)], at1000.Categories.Select(c => (c.Category, c.ServiceRecall)));
        Assert.Equal((0.035, 0.661), (at1000.ReferenceNewestRecall, at1000.ReferenceBm25Recall));
        Assert.Null(Aggregation.PerBudget(Rows, [1500]).Single().ReferenceBm25Recall);
    }

    [Fact]
    public void Given_a_result_When_charted_Then_the_SVG_has_one_line_per_series_with_a_point_per_budget()
    {
        var svg = XDocument.Parse(RecallChart.Render(Result().Budgets));
        XNamespace ns = "http://www.w3.org/2000/svg";

        var series = svg.Descendants(ns + "g").ToDictionary(g => (string)g.Attribute("data-series")!);
        Assert.Equal(["service", "bm25", "newest"], series.Keys);
        foreach (var g in series.Values)
        {
            var points = ((string)g.Element(ns + "polyline")!.Attribute("points")!).Split(' ');
            Assert.Equal(3, points.Length);
            Assert.Equal(3, g.Elements(ns + "circle").Count());
        }
        // The plot spans y 30 (recall 1) to 350 (recall 0): 0.25 is three quarters of the way down; budgets go left to right.
        var service = ((string)series["service"].Element(ns + "polyline")!.Attribute("points")!).Split(' ')
            .Select(p => p.Split(',').Select(double.Parse).ToArray()).ToArray();
        Assert.True(service[0][0] < service[1][0] && service[1][0] < service[2][0]);
        Assert.Equal([270.0, 30.0, 30.0], service.Select(p => p[1]));
    }

    [Fact]
    public void Given_a_result_When_rendered_as_Markdown_Then_every_budget_reference_prefix_and_target_is_there()
    {
        var md = MarkdownReport.Render(Result());

        foreach (var budget in new[] { 1000, 2000, 4000 })
        {
            Assert.Matches(new Regex($@"^\| {budget} \| 2 \| \*\*", RegexOptions.Multiline), md);
        }
        Assert.Contains("| 0.000 / 0.035 | 0.750 / 0.661 |", md);
        Assert.Contains("| conv-1 | 2000 | 3 | 0.500 | 0.500 |", md);
        Assert.Contains("- recall >= 0.90 @2000: 1.000 met", md);
        Assert.Contains("- recall >= 0.80 @1000: 0.250 MISSED", md);
        Assert.Contains("- no response over budget: MISSED (1 responses over budget)", md);
        Assert.Contains("- latency p95 (client side): 5.9 ms @1000, 8.8 ms @2000, 6.9 ms @4000", md);
    }

    [Fact]
    public void Given_rows_When_written_as_CSV_Then_questions_are_quoted_and_values_round_trip()
    {
        var lines = ReportFiles.RenderCsv(Rows).TrimEnd('\n').Split('\n');

        Assert.Equal(7, lines.Length);
        Assert.StartsWith("conversation,question_index,category,budget,", lines[0]);
        Assert.Equal("conv-1,1,4,1000,1,0,1001,6,true,0,1,\"Where?\"", lines[2]);
        Assert.EndsWith(",\"Who, \"\"exactly\"\"?\"", lines[1]);
    }
}
