using System.Diagnostics.Metrics;
using System.Globalization;

namespace ConversationService.EventStore;

/// <summary>
/// Where one async projection stands. <see cref="Checkpoint"/>, <see cref="Head"/>, <see cref="OldestWaiting"/> and
/// <see cref="Parked"/> come from the database, so every replica reports the same; <see cref="FailuresInARow"/> and
/// <see cref="LastError"/> are this replica's, and only the replica running the projection has any.
/// </summary>
/// <param name="Head">The highest seq_id in the log.</param>
/// <param name="OldestWaiting">When the first event past the checkpoint was stored; null when none waits.</param>
/// <param name="Parked">Dead letters of this projection that no operator has resolved.</param>
/// <param name="FailuresInARow">Failed attempts on this replica since the last success.</param>
/// <param name="LastError">The last failure's <see cref="EventFailures.Describe"/>, while failing.</param>
public sealed record ProjectionHealth(
    string Name, long Checkpoint, long Head, DateTimeOffset? OldestWaiting, long Parked, int FailuresInARow, string? LastError);

public static class DaemonHealth
{
    /// <summary>Failed attempts in a row after which a projection counts as stuck, not as having a moment's trouble.</summary>
    public const int StuckAfterFailures = 3;

    /// <summary>
    /// What is wrong, one sentence per projection and problem, empty when nothing is: parked events, a projection that
    /// keeps failing, or one that lags more than <see cref="EventStoreOptions.MaxLagEvents"/> sequence numbers or
    /// <see cref="EventStoreOptions.MaxLagSeconds"/> behind the log (which also catches one that stopped advancing
    /// on another replica).
    /// </summary>
    public static IReadOnlyList<string> Problems(IReadOnlyList<ProjectionHealth> projections, EventStoreOptions options, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(projections);
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        foreach (var p in projections)
        {
            if (p.Parked > 0)
            {
                problems.Add(Invariant($"{p.Name}: {p.Parked} parked event(s), see the dead_letters table"));
            }
            if (p.FailuresInARow >= StuckAfterFailures)
            {
                problems.Add(Invariant($"{p.Name}: failed {p.FailuresInARow} times in a row, last: {p.LastError}"));
            }
            var behind = p.Head - p.Checkpoint;
            if (behind > options.MaxLagEvents)
            {
                problems.Add(Invariant($"{p.Name}: {behind} events behind the log (limit {options.MaxLagEvents})"));
            }
            if (p.OldestWaiting is { } oldest && now - oldest > TimeSpan.FromSeconds(options.MaxLagSeconds))
            {
                problems.Add(Invariant(
                    $"{p.Name}: the oldest unprocessed event is {(long)(now - oldest).TotalSeconds} s old (limit {options.MaxLagSeconds} s)"));
            }
        }
        return problems;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>What this replica saw of one projection's attempts, for <see cref="ProjectionHealth"/>.</summary>
internal sealed class ProjectionActivity
{
    private readonly Lock _gate = new();
    private int _failuresInARow;
    private string? _lastError;

    public void Succeeded()
    {
        lock (_gate)
        {
            _failuresInARow = 0;
            _lastError = null;
        }
    }

    public void Failed(string error)
    {
        lock (_gate)
        {
            _failuresInARow++;
            _lastError = error;
        }
    }

    public (int FailuresInARow, string? LastError) Read()
    {
        lock (_gate)
        {
            return (_failuresInARow, _lastError);
        }
    }
}

/// <summary>The daemon's instruments (meter <c>ConversationService.EventStore</c>), for OpenTelemetry or dotnet-counters.</summary>
internal static class DaemonMetrics
{
    public const string MeterName = "ConversationService.EventStore";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Events parked, tagged with the projection.</summary>
    public static readonly Counter<long> Parked = Meter.CreateCounter<long>(
        "eventstore.daemon.parked_events", unit: "{event}", description: "Events an async projection could not process and went past.");
}
