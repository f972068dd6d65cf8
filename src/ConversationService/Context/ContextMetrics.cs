using System.Diagnostics;
using System.Diagnostics.Metrics;
using ConversationService.Hosting;
using ConversationService.Usage;

namespace ConversationService.Context;

/// <summary>
/// The context endpoint's instruments on the service meter (README, "Telemetry"): requests and their latency, and the
/// tokens served against the full history, by tenant and model. Tags never name a conversation.
/// </summary>
public sealed class ContextMetrics
{
    /// <summary>ASP.NET Core's request-duration buckets, in seconds.</summary>
    private static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _served;
    private readonly Counter<long> _fullHistory;
    private readonly Counter<long> _saved;

    public ContextMetrics(ServiceMeter meter)
    {
        var m = meter.Meter;
        _requests = m.CreateCounter<long>(
            "conversation_service.context.requests", "{request}", "Context requests, by tenant and outcome (answered, problem).");
        _duration = m.CreateHistogram(
            "conversation_service.context.duration", "s", "Time to answer a context request, by tenant and outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _served = m.CreateCounter<long>(
            "conversation_service.context.tokens_served", "{token}", "Tokens of the context windows served, by tenant and model.");
        _fullHistory = m.CreateCounter<long>(
            "conversation_service.context.full_history_tokens", "{token}",
            "Tokens the full history would have taken for the same requests, by tenant and model.");
        _saved = m.CreateCounter<long>(
            "conversation_service.context.tokens_saved", "{token}", "Full-history tokens minus tokens served, by tenant and model.");
    }

    public void Answered(string tenant, bool answered, TimeSpan elapsed)
    {
        var tags = new TagList { { "tenant", tenant }, { "outcome", answered ? "answered" : "problem" } };
        _requests.Add(1, tags);
        _duration.Record(elapsed.TotalSeconds, tags);
    }

    public void Served(ContextServed served)
    {
        var tags = new TagList { { "tenant", served.Tenant }, { "model", served.Model } };
        _served.Add(served.TokensServed, tags);
        _fullHistory.Add(served.FullHistoryTokens, tags);
        _saved.Add(Math.Max(0, served.FullHistoryTokens - served.TokensServed), tags);
    }
}
