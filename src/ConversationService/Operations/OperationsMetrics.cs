using System.Diagnostics.Metrics;
using ConversationService.Hosting;

namespace ConversationService.Operations;

/// <summary>
/// Gauges of the background work not done yet, over every tenant: <c>conversation_service.daemon.events_behind</c>
/// (per shard: events between its position and the log's high-water mark), <c>conversation_service.summaries.uncovered_turns</c>
/// and <c>conversation_service.summaries.pending</c>. Read lazily: a collection reports the figures of the last read and
/// starts a new read when they are older than <see cref="MaxAge"/>, so nothing is queried unless an exporter collects
/// (a scrape of /metrics, or OTLP's periodic export), and never more than one read at a time.
/// </summary>
public sealed class OperationsMetrics : IHostedService
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(15);

    private sealed record Figures(IReadOnlyList<ShardLag> Shards, long UncoveredTurns, long SummariesPending);

    private readonly OperationsStatus _status;
    private readonly TimeProvider _time;
    private readonly ILogger<OperationsMetrics> _logger;
    private Figures? _last;
    private long _readAt;
    private int _reading;

    public OperationsMetrics(ServiceMeter meter, OperationsStatus status, TimeProvider time, ILogger<OperationsMetrics> logger)
    {
        (_status, _time, _logger) = (status, time, logger);
        meter.Meter.CreateObservableGauge("conversation_service.daemon.events_behind",
            () => Observe()?.Shards.Select(s => new Measurement<long>(s.EventsBehind, new KeyValuePair<string, object?>("shard", s.Name))) ?? [],
            "{event}", "Events of the log a projection or subscription of the async daemon has not processed yet, by shard.");
        meter.Meter.CreateObservableGauge("conversation_service.summaries.uncovered_turns",
            () => Observe() is { } f ? [new Measurement<long>(f.UncoveredTurns)] : Array.Empty<Measurement<long>>(),
            "{turn}", "Turns no rolling summary covers yet, the recent windows included, over every tenant.");
        meter.Meter.CreateObservableGauge("conversation_service.summaries.pending",
            () => Observe() is { } f ? [new Measurement<long>(f.SummariesPending)] : Array.Empty<Measurement<long>>(),
            "{summary}", "Summaries requested and not written yet, over every tenant.");
    }

    // Resolved at start so that the gauges exist before the first collection.
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private Figures? Observe()
    {
        if ((_last is null || _time.GetElapsedTime(Interlocked.Read(ref _readAt)) > MaxAge)
            && Interlocked.CompareExchange(ref _reading, 1, 0) == 0)
        {
            _ = ReadAsync();
        }
        return _last;
    }

    private async Task ReadAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var shards = await _status.ShardsAsync(timeout.Token);
            var (uncovered, pending) = await _status.SummaryLagAsync(timeout.Token);
            _last = new Figures(shards, uncovered, pending);
            Interlocked.Exchange(ref _readAt, _time.GetTimestamp());
        }
        catch (Exception e)
        {
            _logger.LogWarning("The lag gauges could not be read: {Error}", e.Message);
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }
}
