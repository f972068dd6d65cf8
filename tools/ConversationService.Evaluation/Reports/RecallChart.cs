using System.Globalization;
using System.Text;
using ConversationService.Evaluation.Scoring;

namespace ConversationService.Evaluation.Reports;

/// <summary>Recall against budget (log scale) for the service and both baselines, as a self-contained SVG.</summary>
public static class RecallChart
{
    private const int Width = 640;
    private const int Height = 400;
    private const int Left = 60;
    private const int Right = 160;
    private const int Top = 30;
    private const int Bottom = 50;

    public static readonly IReadOnlyList<(string Id, string Label, string Color, Func<BudgetSummary, double> Value)> Series =
    [
        ("service", "service", "#d62728", b => b.ServiceRecall),
        ("bm25", "BM25 baseline", "#1f77b4", b => b.Bm25Recall),
        ("newest", "newest turns", "#7f7f7f", b => b.NewestRecall),
    ];

    public static string Render(IReadOnlyList<BudgetSummary> budgets)
    {
        var ordered = budgets.OrderBy(b => b.Budget).ToList();
        var svg = new StringBuilder();
        Append(svg, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        Append(svg, $"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        Append(svg, $"<text x=\"{Left}\" y=\"18\" font-size=\"14\">Evidence recall against token budget (LoCoMo, categories 1-4)</text>");
        for (var tick = 0; tick <= 5; tick++)
        {
            var value = tick / 5.0;
            Append(svg, $"<line x1=\"{Left}\" y1=\"{Y(value):0.#}\" x2=\"{Width - Right}\" y2=\"{Y(value):0.#}\" stroke=\"#ddd\"/>");
            Append(svg, $"<text x=\"{Left - 8}\" y=\"{Y(value) + 4:0.#}\" text-anchor=\"end\">{value:0.0}</text>");
        }
        foreach (var b in ordered)
        {
            var x = X(b.Budget, ordered);
            Append(svg, $"<text x=\"{x:0.#}\" y=\"{Height - Bottom + 18}\" text-anchor=\"middle\">{b.Budget}</text>");
        }
        Append(svg, $"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 10}\" text-anchor=\"middle\">budget (tokens, log scale)</text>");
        Append(svg, $"<text transform=\"translate(16 {(Top + Height - Bottom) / 2}) rotate(-90)\" text-anchor=\"middle\">recall</text>");

        for (var s = 0; s < Series.Count; s++)
        {
            var (id, label, color, value) = Series[s];
            var points = string.Join(" ", ordered.Select(b => string.Create(CultureInfo.InvariantCulture, $"{X(b.Budget, ordered):0.#},{Y(value(b)):0.#}")));
            Append(svg, $"<g data-series=\"{id}\">");
            Append(svg, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{points}\"/>");
            foreach (var b in ordered)
            {
                Append(svg, $"<circle cx=\"{X(b.Budget, ordered):0.#}\" cy=\"{Y(value(b)):0.#}\" r=\"3.5\" fill=\"{color}\"><title>{label} @{b.Budget}: {value(b):0.000}</title></circle>");
            }
            var legendY = Top + 10 + s * 20;
            Append(svg, $"<line x1=\"{Width - Right + 15}\" y1=\"{legendY}\" x2=\"{Width - Right + 35}\" y2=\"{legendY}\" stroke=\"{color}\" stroke-width=\"2\"/>");
            Append(svg, $"<text x=\"{Width - Right + 40}\" y=\"{legendY + 4}\">{label}</text>");
            Append(svg, $"</g>");
        }
        Append(svg, $"</svg>");
        return svg.ToString();
    }

    private static double X(int budget, List<BudgetSummary> ordered)
    {
        var min = Math.Log2(ordered[0].Budget);
        var max = Math.Log2(ordered[^1].Budget);
        var share = max > min ? (Math.Log2(budget) - min) / (max - min) : 0.5;
        return Left + 20 + share * (Width - Left - Right - 40);
    }

    private static double Y(double recall) => Top + (1 - Math.Clamp(recall, 0, 1)) * (Height - Top - Bottom);

    private static void Append(StringBuilder svg, FormattableString line) =>
        svg.Append(line.ToString(CultureInfo.InvariantCulture)).Append('\n');
}
