using System.Collections.ObjectModel;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ConversationService.Hosting;
using ConversationService.Operations;
using ConversationService.Summaries;
using ConversationService.Tests.Fakes;
using ConversationService.Tests.Infrastructure;
using ConversationService.Tests.Summaries;
using ConversationService.Usage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OpenTelemetry.Trace;

namespace ConversationService.Tests.Hosting;

/// <summary>
/// The service with an LLM and OpenTelemetry's in-memory span exporter beside its own, under a tenant of this fixture's
/// alone. Metrics are read with <see cref="MetricCollector{T}"/> from the host's own meter factory: OpenTelemetry's
/// meter providers match meters by name, so in a test process of many hosts each provider would see (and, when one
/// host stops, lose) the instruments of all of them; in a service's process there is one host.
/// </summary>
public sealed class TelemetryFixture : LlmFixture
{
    public const string TenantKey = "test-key-telemetry-0123456789";

    public string Tenant { get; } = $"otel-{Guid.NewGuid():N}"[..16];

    public Recorded<Activity> Spans { get; } = new();

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Auth:ApiKeys:2:Key"] = TenantKey,
        ["Auth:ApiKeys:2:Tenant"] = Tenant,
        // A summary is due after about seven turns of SummaryProbe.Sentence (some 45 tokens each).
        ["Summaries:RecentWindowTokens"] = "0",
        ["Summaries:ThresholdTokens"] = "300",
    };

    // Without an OTLP endpoint the service records no spans; this exporter wants them all.
    protected override void Configure(IWebHostBuilder web) => web.ConfigureServices(services =>
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.SetSampler(new AlwaysOnSampler()).AddInMemoryExporter(Spans)));

    /// <summary>What the service's instrument <paramref name="name"/> records on the fixture's host from now on.</summary>
    public Measured<T> Measure<T>(string name) where T : struct =>
        new(new MetricCollector<T>(Factory.Services.GetRequiredService<IMeterFactory>(), Telemetry.Name, name), Tenant);
}

/// <summary>One instrument's measurements for the fixture's tenant.</summary>
public sealed class Measured<T>(MetricCollector<T> collector, string tenant) : IDisposable where T : struct
{
    /// <summary>The sum of the measurements whose tags include <paramref name="tags"/>.</summary>
    public double Sum(params (string Key, string Value)[] tags) => Matching(tags).Sum(m => Convert.ToDouble(m.Value, CultureInfo.InvariantCulture));

    public int Count(params (string Key, string Value)[] tags) => Matching(tags).Count();

    private IEnumerable<CollectedMeasurement<T>> Matching((string Key, string Value)[] tags) =>
        collector.GetMeasurementSnapshot().Where(m => Equals(m.Tags.GetValueOrDefault("tenant"), tenant)
            && tags.All(t => Equals(m.Tags.GetValueOrDefault(t.Key), t.Value)));

    public void Dispose() => collector.Dispose();
}

/// <summary>What an exporter adds from its threads, read safely from the test's.</summary>
public sealed class Recorded<T> : Collection<T>
{
    private readonly Lock _gate = new();

    public T[] Snapshot()
    {
        lock (_gate)
        {
            return [.. Items];
        }
    }

    protected override void InsertItem(int index, T item)
    {
        lock (_gate)
        {
            base.InsertItem(index, item);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class TelemetryCollection : ICollectionFixture<TelemetryFixture>
{
    public const string Name = "telemetry";
}

[Collection(TelemetryCollection.Name)]
public sealed class TelemetryTests(TelemetryFixture fixture)
{
    private readonly ApiClient _api = fixture.Client(apiKey: TelemetryFixture.TenantKey);

    [Fact]
    public async Task Given_turns_that_make_a_summary_due_When_posted_Then_one_trace_runs_from_the_POST_to_the_summary_consumer_and_its_LLM_call()
    {
        fixture.Llm.Reset();
        fixture.Llm.Enqueue(new FakeReply.Answer("Alice moved the review to room 104.", PromptTokens: 1_000, CachedTokens: 200, CompletionTokens: 50));
        var id = ApiClient.NewId();
        using var calls = fixture.Measure<long>("conversation_service.llm.calls");
        using var tokens = fixture.Measure<long>("conversation_service.llm.tokens");
        using var cost = fixture.Measure<double>("conversation_service.llm.cost_usd");

        await SummaryProbe.PostTurnsAsync(_api, id, 10);

        Assert.Single(await SummaryProbe.WaitForSummariesAsync(fixture.ConnectionString, id, 1));
        var post = Assert.Single(fixture.Spans.Snapshot(), s =>
            s.Kind == ActivityKind.Server && Equals(s.GetTagItem("url.path"), $"/conversations/{id}/turns"));
        var trace = await WaitForSpansAsync(post.TraceId, spans =>
            spans.Any(s => s.Source.Name == LlmResilience.TelemetrySource)
            && spans.Any(s => s.Kind == ActivityKind.Consumer && s.DisplayName.Contains("summarize-conversation", StringComparison.Ordinal)));
        Assert.Contains(trace, s => s.DisplayName == "eventstore.commit");
        Assert.Contains(trace, s => s.DisplayName == "integration_events.publish");
        Assert.Contains(trace, s => s.DisplayName == "summary_trigger.send");
        var llm = Assert.Single(trace, s => s.Source.Name == LlmResilience.TelemetrySource);
        Assert.Equal("gpt-4.1-nano", llm.GetTagItem("gen_ai.request.model"));
        Assert.Equal(1_000L, Convert.ToInt64(llm.GetTagItem("gen_ai.usage.input_tokens"), CultureInfo.InvariantCulture));
        // Nothing of the conversation's content is in any span of the trace.
        Assert.DoesNotContain(trace.SelectMany(s => s.TagObjects), t => t.Value is string text && text.Contains("room 10", StringComparison.Ordinal));

        (string, string)[] summary = [("model", "gpt-4.1-nano"), ("call_type", CallTypes.Summary)];
        Assert.Equal(1, calls.Sum(summary));
        Assert.Equal(
            (1_000d, 200d, 50d),
            (tokens.Sum([.. summary, ("token_type", "input")]), tokens.Sum([.. summary, ("token_type", "cached_input")]),
                tokens.Sum([.. summary, ("token_type", "output")])));
        Assert.Equal(0.000105, cost.Sum(summary), 9);
    }

    [Fact]
    public async Task Given_a_conversation_When_its_context_is_requested_Then_the_context_metrics_move_by_the_answer()
    {
        var id = ApiClient.NewId();
        await SummaryProbe.PostTurnsAsync(_api, id, 4);
        using var requests = fixture.Measure<long>("conversation_service.context.requests");
        using var duration = fixture.Measure<double>("conversation_service.context.duration");
        using var tokensServed = fixture.Measure<long>("conversation_service.context.tokens_served");
        using var fullHistory = fixture.Measure<long>("conversation_service.context.full_history_tokens");
        using var saved = fixture.Measure<long>("conversation_service.context.tokens_saved");

        var context = (await _api.GetContextAsync(id, "budget=150")).Expect(HttpStatusCode.OK).Body;
        (await _api.GetContextAsync("c-missing", "budget=150")).Expect(HttpStatusCode.NotFound);

        var (served, full) = (context["tokens"]!.GetValue<long>(), context["fullHistoryTokens"]!.GetValue<long>());
        Assert.True(full > served, $"{full} > {served}: the budget leaves turns out");
        Assert.Equal((1d, 1d), (requests.Sum(("outcome", "answered")), requests.Sum(("outcome", "problem"))));
        Assert.Equal((1, 1), (duration.Count(("outcome", "answered")), duration.Count(("outcome", "problem"))));
        var model = ("model", "gpt-4o");
        Assert.Equal(((double)served, (double)full, (double)(full - served)), (tokensServed.Sum(model), fullHistory.Sum(model), saved.Sum(model)));
        var request = Assert.Single(fixture.Spans.Snapshot(), s =>
            s.Kind == ActivityKind.Server && Equals(s.GetTagItem("url.path"), $"/conversations/{id}/context"));
        var spans = fixture.Spans.Snapshot().Where(s => s.TraceId == request.TraceId).Select(s => s.DisplayName).ToList();
        Assert.Contains("context.retrieve", spans);
        Assert.Contains("context.pack", spans);
    }

    [Fact]
    public async Task Given_turns_and_the_daemon_When_the_lag_gauges_are_collected_Then_they_report_every_shard_and_the_uncovered_turns()
    {
        await SummaryProbe.PostTurnsAsync(_api, ApiClient.NewId(), 4); // too few for a summary: all four stay uncovered
        var meters = fixture.Factory.Services.GetRequiredService<IMeterFactory>();
        using var behind = new MetricCollector<long>(meters, Telemetry.Name, "conversation_service.daemon.events_behind");
        using var uncovered = new MetricCollector<long>(meters, Telemetry.Name, "conversation_service.summaries.uncovered_turns");
        using var pending = new MetricCollector<long>(meters, Telemetry.Name, "conversation_service.summaries.pending");

        // A collection reports the last read (nothing before the first) and starts a new read when it is older than
        // OperationsMetrics.MaxAge: another test's collection may have read before these turns were posted.
        MetricCollector<long>[] collectors = [behind, uncovered, pending];
        var deadline = DateTime.UtcNow + OperationsMetrics.MaxAge + TimeSpan.FromSeconds(15);
        while ((collectors.Any(c => c.GetMeasurementSnapshot().Count == 0) || uncovered.LastMeasurement!.Value < 4)
               && DateTime.UtcNow < deadline)
        {
            foreach (var collector in collectors)
            {
                collector.RecordObservableInstruments();
            }
            await Task.Delay(100);
        }

        var shards = behind.GetMeasurementSnapshot().Select(m => (string)m.Tags["shard"]!).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("integration_events:All", shards);
        Assert.Contains("summary_trigger:All", shards);
        Assert.All(behind.GetMeasurementSnapshot(), m => Assert.True(m.Value >= 0));
        Assert.True(uncovered.LastMeasurement!.Value >= 4, $"{uncovered.LastMeasurement.Value} uncovered turns");
        Assert.True(pending.LastMeasurement!.Value >= 0);
    }

    [Fact]
    public async Task Given_a_management_port_When_metrics_are_scraped_Then_they_answer_there_and_not_on_the_public_port()
    {
        var (publicPort, managementPort) = (FreePort(), FreePort());
        await using var host = fixture.CreateFactory(new Dictionary<string, string?>
        {
            ["Messaging:EndpointPrefix"] = $"{fixture.EndpointPrefix}{Guid.NewGuid():N}"[..24] + "-",
            ["urls"] = $"http://127.0.0.1:{publicPort}",
            ["Telemetry:PrometheusPort"] = managementPort.ToString(CultureInfo.InvariantCulture),
        });
        host.UseKestrel();
        host.StartServer();
        var addresses = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Assert.Contains($"http://127.0.0.1:{publicPort}", addresses);
        using var http = new HttpClient();

        using var scrape = await http.GetAsync(new Uri($"http://127.0.0.1:{managementPort}/metrics"));
        using var onPublic = await http.GetAsync(new Uri($"http://127.0.0.1:{publicPort}/metrics"));
        using var apiOnManagement = await http.GetAsync(new Uri($"http://127.0.0.1:{managementPort}/health/live"));
        using var healthOnPublic = await http.GetAsync(new Uri($"http://127.0.0.1:{publicPort}/health/live"));

        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Contains("dotnet_gc_", await scrape.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, onPublic.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, apiOnManagement.StatusCode);
        Assert.Equal(HttpStatusCode.OK, healthOnPublic.StatusCode);
    }

    private async Task<List<Activity>> WaitForSpansAsync(ActivityTraceId trace, Func<List<Activity>, bool> complete)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var spans = fixture.Spans.Snapshot().Where(s => s.TraceId == trace).ToList();
            if (complete(spans) || DateTime.UtcNow > deadline)
            {
                Assert.True(complete(spans), $"the trace has only: {string.Join(", ", spans.Select(s => $"{s.Source.Name}/{s.DisplayName}"))}");
                return spans;
            }
            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
