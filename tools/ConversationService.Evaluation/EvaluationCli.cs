using System.Net.Http.Headers;
using ConversationService.Evaluation.Reports;
using ConversationService.Evaluation.Scoring;
using ConversationService.Evaluation.Service;
using Spectre.Console;

namespace ConversationService.Evaluation;

public static class EvaluationCli
{
    public static async Task<int> Main(string[] args)
    {
        var (options, errors, help) = CliOptions.Parse(args, DateTimeOffset.UtcNow, Environment.GetEnvironmentVariable);
        if (help)
        {
            Console.WriteLine(CliOptions.Usage);
            return 0;
        }
        if (options is null)
        {
            foreach (var error in errors)
            {
                await Console.Error.WriteLineAsync("error: " + error);
            }
            await Console.Error.WriteLineAsync("Run with --help for usage.");
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        using var http = new HttpClient { BaseAddress = options.BaseUrl, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        try
        {
            var result = Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive
                ? await new EvaluationRunner(http, options.Settings, new PlainProgress(Console.Out), TimeProvider.System).RunAsync(cancel.Token)
                : await AnsiConsole.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .StartAsync(ctx => new EvaluationRunner(http, options.Settings, new SpectreProgress(ctx), TimeProvider.System)
                        .RunAsync(cancel.Token));
            PrintSummary(result);
            Console.WriteLine($"Report: {Path.GetFullPath(Path.Combine(options.Settings.OutputDirectory, ReportFiles.Markdown))}");
            return 0;
        }
        catch (FormatException e)
        {
            await Console.Error.WriteLineAsync($"error: --data: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is ServiceException or TimeoutException or HttpRequestException or OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"evaluation failed: {e.Message}");
            return 1;
        }
    }

    private static void PrintSummary(EvaluationResult result)
    {
        if (Console.IsOutputRedirected)
        {
            // Spectre assumes 80 columns without a terminal, which wraps every cell of the table in a log file.
            AnsiConsole.Profile.Width = 160;
        }
        var table = new Table().AddColumns(
            "budget", "questions", "service recall", "newest (ref)", "BM25 (ref)", "mean tokens", "max tokens",
            "over budget", "p50 ms", "p95 ms");
        foreach (var b in result.Budgets)
        {
            table.AddRow(
                $"{b.Budget}", $"{b.Questions}", $"{b.ServiceRecall:0.000}", $"{b.NewestRecall:0.000} ({b.ReferenceNewestRecall:0.000})",
                $"{b.Bm25Recall:0.000} ({b.ReferenceBm25Recall:0.000})", $"{b.MeanTokens:0}", $"{b.MaxTokens}", $"{b.Violations}",
                $"{b.LatencyP50Ms:0.0}", $"{b.LatencyP95Ms:0.0}");
        }
        AnsiConsole.Write(table);
        foreach (var p in result.PrefixStability)
        {
            AnsiConsole.WriteLine($"prefix stability {p.Conversation} @{p.Budget}: mean {p.Mean:0.000}, median {p.Median:0.000} ({p.Samples} samples)");
        }
        foreach (var target in MarkdownReport.Targets(result.Budgets))
        {
            AnsiConsole.WriteLine("target: " + target);
        }
    }
}
