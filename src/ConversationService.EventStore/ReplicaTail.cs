using Microsoft.Extensions.Logging;
using Npgsql;

namespace ConversationService.EventStore;

/// <summary>
/// Runs this replica's <see cref="IReplicaSubscription"/>s: one poll of the log for all of them every
/// <see cref="EventStoreOptions.PollInterval"/> on a pooled connection, with no lock and nothing stored. Every row's
/// position is read, for the gap logic, but data only for the subscriptions' types, so a poll costs one index range
/// scan of small rows.
/// <para>
/// It starts <see cref="StartOverlap"/> sequence numbers before the log's head, not at it. A starting replica holds
/// nothing yet, but a transaction that drew its seq_id before the start and commits just after it is below the head
/// and would never be seen, while a request may have cached what that transaction deletes. Values drawn that long
/// before the head and still uncommitted would take a transaction held open across thousands of other appends;
/// handing over a few thousand old events once at start-up costs a few milliseconds.
/// </para>
/// </summary>
internal sealed class ReplicaTail(EventStore store, IReadOnlyList<IReplicaSubscription> subscriptions, ILogger logger)
{
    public const long StartOverlap = 10_000;

    private readonly string _name = string.Join(", ", subscriptions.Select(s => s.Name));
    private readonly (IReplicaSubscription Subscription, HashSet<Type> Types)[] _subscriptions =
        [.. subscriptions.Select(s => (s, s.EventTypes.ToHashSet()))];
    private readonly string[] _types =
        [.. subscriptions.SelectMany(s => s.EventTypes).Select(store.Types.NameOf).Distinct(StringComparer.Ordinal)];

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        LogFollower? log = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var delay = store.Options.PollInterval;
            try
            {
                await using var connection = await store.DataSource.OpenConnectionAsync(stoppingToken);
                log ??= new LogFollower(
                    store, Math.Max(0, await ProjectionRunner.ScalarAsync<long>(connection, store.Sql.Head, stoppingToken) - StartOverlap));
                if (await PollAsync(connection, log, stoppingToken))
                {
                    delay = TimeSpan.Zero;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                Log.TailFailed(logger, ex, _name);
                delay = store.Options.LockRetryInterval;
            }

            if (delay > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(delay, store.Time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    /// <summary>Hands over the next batch's events of the subscription's types; true when the batch was full.</summary>
    private async Task<bool> PollAsync(NpgsqlConnection connection, LogFollower log, CancellationToken ct)
    {
        var (rows, decision) = await log.NextAsync(connection, _types, ct);
        var events = new List<StoredEvent>();
        for (var i = 0; i < decision.Take; i++)
        {
            if (!rows.HasData(i))
            {
                continue;
            }
            try
            {
                events.Add(rows.Materialize(i, store.Types));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Retrying would fail the same way and hold up every later event.
                var p = rows.Position(i);
                Log.TailUnreadable(logger, _name, p.Sequence, p.Type, p.Version, p.StreamId, p.TenantId, EventFailures.Describe(ex));
            }
        }
        // A subscription that throws gets these events again with the others, which is harmless: in-memory work,
        // at least once.
        foreach (var (subscription, types) in _subscriptions)
        {
            var wanted = events.Where(e => types.Contains(e.Data.GetType())).ToList();
            if (wanted.Count > 0)
            {
                subscription.Handle(wanted);
            }
        }
        log.Checkpoint = decision.Checkpoint;
        return decision.Take == store.Options.BatchSize;
    }
}
