using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ConversationService.Evaluation.Reports;
using ConversationService.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;

namespace ConversationService.Evaluation.Tests;

/// <summary>The runner against the real service (WebApplicationFactory, own database, real PostgreSQL and RabbitMQ).</summary>
public sealed class WholeRunTests : IAsyncLifetime
{
    private const string ApiKey = "eval-test-key-0123456789abcdef";
    private static readonly string RabbitMq =
        Environment.GetEnvironmentVariable("ConnectionStrings__RabbitMq") ?? "amqp://guest:guest@localhost:5672/";

    private readonly TestDatabase _database = new();
    private readonly string _output = Path.Combine(Path.GetTempPath(), "eval-out-" + Guid.NewGuid().ToString("N"));
    private WebApplicationFactory<Program> _factory = null!;

    private string EndpointPrefix => "e" + _database.Name[8..20] + "-";

    public async Task InitializeAsync()
    {
        await _database.CreateAsync();
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Testing");
            web.ConfigureAppConfiguration(config => config.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Postgres"] = _database.ConnectionString,
                ["ConnectionStrings:RabbitMq"] = RabbitMq,
                ["Messaging:EndpointPrefix"] = EndpointPrefix,
                ["Auth:ApiKeys:0:Key"] = ApiKey,
                ["Auth:ApiKeys:0:Tenant"] = "eval",
                ["Logging:LogLevel:Default"] = "Warning",
                // The lexical hash: what these tests assert was written for it, and the local model would embed every turn they
                // append (tests/ConversationService.Tests/Embeddings/LocalModel* cover the model).
                ["Embeddings:Provider"] = "lexical",
            }));
        });
    }

    [Fact]
    public async Task Given_a_small_LoCoMo_file_When_the_runner_evaluates_the_service_Then_the_report_matches_its_rows_and_nothing_is_left_behind()
    {
        using var data = new SyntheticLocomo("conv-1");
        using var http = _factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        var settings = new EvaluationSettings(
            [data.Path], [60, 120, 4000], _output, "gpt-4o", 2, Keep: false, PrefixConversation: null, PrefixBudgets: [2000, 4000],
            IndexTimeout: TimeSpan.FromSeconds(60), RunId: "t" + Guid.NewGuid().ToString("N")[..12]);
        var log = new StringWriter();

        var result = await new EvaluationRunner(http, settings, new PlainProgress(log), TimeProvider.System).RunAsync(CancellationToken.None);

        foreach (var file in new[] { ReportFiles.Markdown, ReportFiles.Chart, ReportFiles.Json, ReportFiles.Csv })
        {
            Assert.True(new FileInfo(Path.Combine(_output, file)).Length > 0, file);
        }
        Assert.Contains("ingest: 9/9", log.ToString());
        Assert.Contains("ask: 12/12", log.ToString());

        // Every answer within budget, every recall a share.
        var rows = ReadCsv(Path.Combine(_output, ReportFiles.Csv));
        Assert.Equal(12, rows.Count);
        Assert.All(rows, r => Assert.InRange(r.Tokens, 1, r.Budget));
        Assert.All(rows, r => Assert.InRange(r.Recall, 0, 1));
        Assert.All(result.Budgets, b => Assert.Equal(0, b.Violations));
        Assert.Contains("- no response over budget: met", File.ReadAllText(Path.Combine(_output, ReportFiles.Markdown)));

        // results.json holds what the per-question rows give.
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_output, ReportFiles.Json)));
        var budgets = json.RootElement.GetProperty("budgets").EnumerateArray().ToList();
        Assert.Equal([60, 120, 4000], budgets.Select(b => b.GetProperty("budget").GetInt32()));
        foreach (var budget in budgets)
        {
            var at = rows.Where(r => r.Budget == budget.GetProperty("budget").GetInt32()).ToList();
            Assert.Equal(at.Average(r => r.Recall), budget.GetProperty("serviceRecall").GetDouble(), 9);
            Assert.InRange(budget.GetProperty("serviceRecall").GetDouble(), 0, 1);
            Assert.Equal(at.Max(r => r.Tokens), budget.GetProperty("maxTokens").GetInt32());
        }

        // The whole history fits in 4,000 tokens, so every evidence turn is in the context, and the newest-turns
        // baseline holds everything too; 60 tokens hold only the newest turns.
        var conversation = Assert.Single(result.Conversations);
        Assert.InRange(conversation.FullHistoryTokens, 121, 4000);
        Assert.Equal(1.0, result.Budgets.Single(b => b.Budget == 4000).ServiceRecall);
        Assert.Equal(1.0, result.Budgets.Single(b => b.Budget == 4000).NewestRecall);
        Assert.True(result.Budgets.Single(b => b.Budget == 60).ServiceRecall < 1.0);

        // Each context after the second session repeats the first one's messages in front: all of it is reusable.
        Assert.Equal([2000, 4000], result.PrefixStability.Select(p => p.Budget));
        Assert.All(result.PrefixStability, p => Assert.Equal((1, 1.0), (p.Samples, p.Mean)));

        using var check = await http.GetAsync($"/conversations/{conversation.ServiceId}");
        Assert.Equal(HttpStatusCode.NotFound, check.StatusCode);
    }

    private static List<(int Budget, double Recall, int Tokens)> ReadCsv(string path) =>
        File.ReadAllLines(path).Skip(1)
            .Select(line => line.Split(','))
            .Select(f => (int.Parse(f[3], CultureInfo.InvariantCulture), double.Parse(f[5], CultureInfo.InvariantCulture),
                int.Parse(f[6], CultureInfo.InvariantCulture)))
            .ToList();

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await BrokerQueues.DeleteAsync(RabbitMq, [EndpointPrefix]);
        await _database.DropAsync();
        if (Directory.Exists(_output))
        {
            Directory.Delete(_output, recursive: true);
        }
    }
}
