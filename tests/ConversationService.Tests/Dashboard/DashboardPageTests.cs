using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConversationService.Contracts;
using ConversationService.Summaries;
using ConversationService.Tests.Infrastructure;
using ConversationService.Usage;
using JasperFx.Events.Daemon;
using Marten;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using PuppeteerSharp;

namespace ConversationService.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser: the service on Kestrel over a database of its own, a tenant's usage seeded through
/// the API and the usage logs, and Debian's chromium loading GET /dashboard, entering the key with the keyboard and
/// drawing the charts. The charts' data and the tables are compared with the seeded figures.
/// </summary>
public sealed class DashboardPageTests : IAsyncLifetime
{
    private const string Key = "test-key-dashboard-tenant-0123";
    private const string Tenant = "tenant-dash";
    private const string Model = "gpt-4o-mini"; // USD 0.15 per 1M input tokens
    private static readonly string[] Kinds = SectionTokens.Kinds;
    private static readonly string[] ChartIds = ["savings-chart", "spend-chart", "composition-chart", "top-chart"];

    private readonly ServiceFixture _fixture = new();
    private WebApplicationFactory<Program> _service = null!;
    private string _baseUrl = "";

    public async Task InitializeAsync()
    {
        await _fixture.InitializeAsync();
        _service = _fixture.CreateFactory(new Dictionary<string, string?>
        {
            ["Auth:ApiKeys:2:Key"] = Key,
            ["Auth:ApiKeys:2:Tenant"] = Tenant,
            ["Llm:DailyBudgetUsd"] = "1.00",
        });
        _service.UseKestrel(0);
        _service.StartServer();
        _baseUrl = _service.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
            .Addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        await _service.DisposeAsync();
        await _fixture.DisposeAsync();
    }

    [Fact]
    public async Task Given_a_tenants_seeded_usage_When_the_dashboard_is_opened_with_its_key_Then_every_chart_and_table_shows_the_seeded_figures()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var expected = await SeedAsync(today);

        await using var browser = await Chromium.LaunchAsync();
        await using var page = await browser.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, e) =>
        {
            if (e.Message.Type == ConsoleType.Error)
            {
                errors.Add($"{e.Message.Text} ({e.Message.Location?.URL})");
            }
        };
        page.PageError += (_, e) => errors.Add(e.Message);
        await page.SetViewportAsync(new ViewPortOptions { Width = 1440, Height = 900 });
        var response = await page.GoToAsync($"{_baseUrl}/dashboard", WaitUntilNavigation.Load);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Contains("script-src 'self'", response.Headers["content-security-policy"], StringComparison.Ordinal);

        // The keyboard alone: the key field is the first stop, Enter submits.
        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("api-key", await page.EvaluateExpressionAsync<string>("document.activeElement.id"));
        await page.Keyboard.TypeAsync(Key);
        await page.Keyboard.PressAsync("Enter");
        await WaitForStateAsync(page, "loaded");

        var charts = JsonNode.Parse(await page.EvaluateFunctionAsync<string>(ChartsScript, (object)ChartIds))!;
        foreach (var id in ChartIds)
        {
            Assert.True(charts[id]!["painted"]!.GetValue<int>() > 500, $"{id} drew (almost) nothing on its canvas.");
        }
        var labels = charts["savings-chart"]!["labels"]!.AsArray().Select(l => DateOnly.Parse(l!.GetValue<string>())).ToList();
        Assert.Equal(today, labels[^1]);
        Assert.Equal(30, labels.Count);
        long[] Daily(Func<ExpectedDay, long> pick) => [.. labels.Select(d => expected.Days.TryGetValue(d, out var day) ? pick(day) : 0)];
        decimal[] DailyUsd(Func<ExpectedDay, decimal> pick) => [.. labels.Select(d => expected.Days.TryGetValue(d, out var day) ? pick(day) : 0)];

        Assert.Equal(Daily(d => d.Full), Longs(charts["savings-chart"]!, 0));
        Assert.Equal(Daily(d => d.Served), Longs(charts["savings-chart"]!, 1));
        Assert.Equal(DailyUsd(d => d.Spent), Decimals(charts["spend-chart"]!, 0));
        Assert.Equal(1.00m, Decimals(charts["spend-chart"]!, 1).Distinct().Single()); // the budget line
        for (var kind = 0; kind < Kinds.Length; kind++)
        {
            Assert.Equal(Kinds[kind], charts["composition-chart"]!["datasets"]![kind]!["label"]!.GetValue<string>());
            Assert.Equal(Daily(d => d.Sections.ToArray()[kind]), Longs(charts["composition-chart"]!, kind));
        }
        Assert.Equal(expected.Top.Select(t => t.Id), charts["top-chart"]!["labels"]!.AsArray().Select(l => l!.GetValue<string>()));
        Assert.Equal(expected.Top.Select(t => t.Served), Longs(charts["top-chart"]!, 0));

        // The tables, the charts' text alternatives, hold the same figures.
        var savings = await TableAsync(page, "savings-table");
        Assert.Equal(labels.Select(d => d.ToString("yyyy-MM-dd")), savings.Select(r => r[0]));
        Assert.Equal(Daily(d => d.Requests), savings.Select(r => long.Parse(r[1])));
        Assert.Equal(DailyUsd(d => d.Saved), savings.Select(r => decimal.Parse(r[4])));
        var spend = await TableAsync(page, "spend-table");
        Assert.Equal(labels.Select(d => expected.Days.TryGetValue(d, out var day) ? day.State : "within"), spend.Select(r => r[2]));
        var composition = await TableAsync(page, "composition-table");
        Assert.Equal(Daily(d => d.Sections.Recent), composition.Select(r => long.Parse(r[3])));
        var top = await TableAsync(page, "top-table");
        Assert.Equal(expected.Top.Select(t => (t.Id, t.Served, t.Full)), top.Select(r => (r[0], long.Parse(r[2]), long.Parse(r[3]))));

        Assert.Equal("warning", await page.EvaluateExpressionAsync<string>("document.getElementById('budget-alert').dataset.state"));
        Assert.StartsWith("Warning", await page.EvaluateExpressionAsync<string>("document.getElementById('budget-alert').textContent"),
            StringComparison.Ordinal);
        Assert.Equal(expected.UncoveredTurns, await ValueAsync(page, "uncovered-turns"));
        Assert.Equal(1, await ValueAsync(page, "uncovered-conversations"));
        Assert.Equal(1, await ValueAsync(page, "summaries-pending"));
        Assert.Equal(1, await ValueAsync(page, "parked-events"));
        var lag = await TableAsync(page, "lag-table");
        Assert.Contains(lag, r => r[0].StartsWith(ParkedProjection, StringComparison.Ordinal) && r[2] == "1");
        Assert.Empty(errors); // a script blocked by the Content-Security-Policy, or failing, would show here

        var screenshot = Path.Combine(AppContext.BaseDirectory, "screenshots", "dashboard.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        await page.ScreenshotAsync(screenshot, new ScreenshotOptions { FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 10_000);
    }

    [Fact]
    public async Task Given_a_wrong_key_When_it_is_entered_Then_the_page_shows_an_error_and_no_data()
    {
        await SeedAsync(DateOnly.FromDateTime(DateTime.UtcNow));
        await using var browser = await Chromium.LaunchAsync();
        await using var page = await browser.NewPageAsync();
        await page.GoToAsync($"{_baseUrl}/dashboard", WaitUntilNavigation.Load);

        await page.TypeAsync("#api-key", "not-a-configured-key");
        await page.Keyboard.PressAsync("Enter");
        await WaitForStateAsync(page, "error");

        Assert.Contains("not accepted", await page.EvaluateExpressionAsync<string>("document.getElementById('error').textContent"),
            StringComparison.Ordinal);
        Assert.False(await page.EvaluateExpressionAsync<bool>("document.getElementById('error').hidden"));
        Assert.True(await page.EvaluateExpressionAsync<bool>("document.getElementById('content').hidden"));
        var charts = JsonNode.Parse(await page.EvaluateFunctionAsync<string>(ChartsScript, (object)ChartIds))!;
        Assert.All(ChartIds, id => Assert.Null(charts[id]));
        Assert.Equal(0, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('#content tbody tr').length"));
        Assert.Null(await page.EvaluateExpressionAsync<string?>("sessionStorage.getItem('conversation-service.dashboard.key')"));
    }

    [Fact]
    public async Task Given_the_data_endpoint_When_the_range_is_wrong_or_the_key_missing_Then_4xx_naming_the_field()
    {
        using var http = _service.CreateClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/dashboard/data")).StatusCode);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        using var api = new ApiClient(http);
        (await api.GetAsync("/dashboard/data?from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z")).ExpectFieldError("from");
        (await api.GetAsync("/dashboard/data?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z")).ExpectFieldError("from");
        (await api.GetAsync("/dashboard/data?from=yesterday")).ExpectFieldError("from");
        (await api.GetAsync("/dashboard/assets/appsettings.json")).ExpectProblem(HttpStatusCode.NotFound);
    }

    private const string ParkedProjection = "summary_trigger";

    private sealed record ExpectedDay(long Requests, long Served, long Full, decimal Saved, SectionTokens Sections, decimal Spent, string State);

    private sealed record Expected(Dictionary<DateOnly, ExpectedDay> Days, List<(string Id, long Served, long Full)> Top, long UncoveredTurns);

    /// <summary>
    /// Three days of a tenant: usage logged two days ago and yesterday (the logs take any time), and today one real context
    /// request through the API besides a logged one. LLM spend: over the budget of 1 USD two days ago, under it yesterday,
    /// past 80% today. One parked event of the tenant, and one summary requested but not written.
    /// </summary>
    private async Task<Expected> SeedAsync(DateOnly today)
    {
        using var http = _service.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        using var api = new ApiClient(http);
        var live = "dash-live";
        await api.PutConversationAsync(live, new { model = Model, systemPrompt = "You are a helpful travel agent." });
        await api.AppendAsync(live, new
        {
            turns = new object[]
            {
                new { role = "user", content = "I want to visit Lisbon in May." },
                new { role = "assistant", content = "Lisbon in May is lovely: warm days, few crowds." },
                new { role = "user", content = "Which neighbourhood should I stay in?" },
                new { role = "assistant", content = "Alfama for charm, Chiado for shops and cafes." },
            },
        });
        var context = (await api.GetContextAsync(live, "budget=4000")).Expect(HttpStatusCode.OK).Body;
        var liveSections = SectionTokens.Of(context["sections"]!.AsArray()
            .Select(s => (s!["kind"]!.GetValue<string>(), s["tokens"]!.GetValue<int>())));
        var (liveServed, liveFull) = (context["tokens"]!.GetValue<long>(), context["fullHistoryTokens"]!.GetValue<long>());

        var at = (DateOnly day) => new DateTimeOffset(day.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero);
        var (twoDaysAgo, yesterday) = (today.AddDays(-2), today.AddDays(-1));
        var usage = _service.Services.GetRequiredService<ContextUsageLog>();
        SectionTokens oldSections = new(100, 200, 500, 100, 50, 50), olderSections = new(100, 300, 1200, 200, 150, 50),
            bigSections = new(400, 200, 1800, 300, 200, 100);
        usage.Record(new ContextServed(Tenant, "dash-old", Model, 1_000, 5_000, oldSections, at(twoDaysAgo)));
        usage.Record(new ContextServed(Tenant, "dash-old", Model, 2_500, 12_000, olderSections, at(yesterday)));
        usage.Record(new ContextServed(Tenant, "dash-big", Model, 3_000, 30_000, bigSections, DateTimeOffset.UtcNow));
        // Another tenant's usage on the same days, which the page must not show.
        usage.Record(new ContextServed("tenant-a", "dash-other", Model, 99_999, 999_999, bigSections, DateTimeOffset.UtcNow));

        var calls = _service.Services.GetRequiredService<LlmCallLog>();
        foreach (var (day, cost) in new[] { (twoDaysAgo, 1.20m), (yesterday, 0.40m), (today, 0.50m), (today, 0.35m) })
        {
            var when = day == today ? DateTimeOffset.UtcNow : at(day);
            await calls.RecordAsync(new LlmCall(Tenant, "dash-old", CallTypes.Summary, Model, new LlmUsage(1_000, 0, 100),
                TimeSpan.FromMilliseconds(300), cost, when), CancellationToken.None);
        }
        await calls.RecordAsync(new LlmCall("tenant-a", null, CallTypes.Summary, Model, new LlmUsage(1, 0, 1),
            TimeSpan.Zero, 50m, DateTimeOffset.UtcNow), CancellationToken.None);

        await using (var session = _service.Services.GetRequiredService<IDocumentStore>().LightweightSession())
        {
            session.Store(new DeadLetterEvent
            {
                Id = Guid.NewGuid(), ProjectionName = ParkedProjection, ShardName = "All", Timestamp = DateTimeOffset.UtcNow,
                EventSequence = 1, TenantId = Tenant, ExceptionType = "System.InvalidOperationException",
                ExceptionMessage = "System.InvalidOperationException",
            });
            await session.SaveChangesAsync();
        }
        // A summary of the live conversation's first two turns requested, as the summary trigger records it, not written.
        await using (var session = _service.Services.GetRequiredService<IDocumentStore>().LightweightSession(Tenant))
        {
            session.Store(new PendingSummary { Id = live, ThroughIndex = 2 });
            await session.SaveChangesAsync();
        }

        static decimal Saved(long full, long served) => (full - served) * 0.15m / 1_000_000m;
        var expected = new Expected(
            new()
            {
                [twoDaysAgo] = new(1, 1_000, 5_000, Saved(5_000, 1_000), oldSections, 1.20m, "exhausted"),
                [yesterday] = new(1, 2_500, 12_000, Saved(12_000, 2_500), olderSections, 0.40m, "within"),
                [today] = new(2, 3_000 + liveServed, 30_000 + liveFull, Saved(30_000, 3_000) + Saved(liveFull, liveServed),
                    bigSections + liveSections, 0.85m, "warning"),
            },
            [("dash-old", 3_500, 17_000), ("dash-big", 3_000, 30_000), (live, liveServed, liveFull)],
            4);
        // The context usage log writes in the background: wait until today's requests are stored.
        for (var attempt = 0; ; attempt++)
        {
            var data = (await api.GetAsync("/dashboard/data")).Expect(HttpStatusCode.OK).Body;
            if (data["days"]!.AsArray()[^1]!["contextRequests"]!.GetValue<long>() == 2)
            {
                return expected;
            }
            Assert.True(attempt < 100, "The context usage was not stored within 10 s.");
            await Task.Delay(100);
        }
    }

    /// <summary>Each chart's labels and data as Chart.js holds them, and how many of its canvas pixels are painted.</summary>
    private const string ChartsScript = """
        ids => JSON.stringify(Object.fromEntries(ids.map(id => {
            const chart = window.Chart && Chart.getChart(id);
            if (!chart) return [id, null];
            const canvas = chart.canvas;
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
            return [id, { labels: chart.data.labels, datasets: chart.data.datasets.map(d => ({ label: d.label, data: d.data })), painted }];
        })))
        """;

    private static long[] Longs(JsonNode chart, int dataset) =>
        [.. chart["datasets"]![dataset]!["data"]!.AsArray().Select(v => (long)v!.GetValue<double>())];

    private static decimal[] Decimals(JsonNode chart, int dataset) =>
        [.. chart["datasets"]![dataset]!["data"]!.AsArray().Select(v => decimal.Round((decimal)v!.GetValue<double>(), 9))];

    /// <summary>The rows of a table's body as the data-value of each cell (its text where it has none).</summary>
    private static async Task<List<string[]>> TableAsync(IPage page, string id)
    {
        var json = await page.EvaluateFunctionAsync<string>(
            "id => JSON.stringify([...document.querySelectorAll(`#${id} tbody tr`)].map(tr => [...tr.cells].map(c => c.dataset.value ?? c.textContent)))",
            id);
        return JsonSerializer.Deserialize<List<string[]>>(json)!;
    }

    private static async Task<long> ValueAsync(IPage page, string id) =>
        long.Parse(await page.EvaluateExpressionAsync<string>($"document.getElementById('{id}').dataset.value"));

    private static async Task WaitForStateAsync(IPage page, string state) =>
        await page.WaitForFunctionAsync($"() => document.body.dataset.state === '{state}'", new WaitForFunctionOptions { Timeout = 30_000 });
}
