using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events;
using Microsoft.Extensions.Options;

namespace ConversationService.Storage;

/// <summary>
/// Something every replica must see of the log (Marten's daemon runs each projection and subscription on one replica
/// only): in-memory copies to forget when their subject is deleted, say.
/// </summary>
public interface IReplicaSubscription
{
    /// <summary>The event types handed to <see cref="Handle"/>; only those are read.</summary>
    IReadOnlyCollection<Type> EventTypes { get; }

    /// <summary>
    /// The events of <see cref="EventTypes"/>, in sequence order. In-memory work only: it runs in the tail's poll loop.
    /// When it throws, the same events come again after the next interval.
    /// </summary>
    void Handle(IReadOnlyList<IEvent> events);
}

public static class ReplicaSubscriptionExtensions
{
    public static IServiceCollection AddReplicaSubscription<T>(this IServiceCollection services) where T : class, IReplicaSubscription
    {
        services.AddSingleton<T>();
        services.AddSingleton<IReplicaSubscription>(provider => provider.GetRequiredService<T>());
        if (!services.Any(s => s.ImplementationType == typeof(ReplicaTail)))
        {
            services.AddHostedService<ReplicaTail>();
        }
        return services;
    }
}

/// <summary>
/// Runs this replica's <see cref="IReplicaSubscription"/>s: every <see cref="EventStoreOptions.PollInterval"/> one
/// query for the events of their types up to the daemon's high-water mark, below which every event is committed (Marten
/// holds the mark below a gap while a transaction that could fill it runs), so nothing that commits late is missed.
/// It starts <see cref="StartOverlap"/> sequence numbers before the mark: a starting replica holds nothing yet, but a
/// request may cache what a deletion just below the mark removes before the first poll.
/// </summary>
internal sealed class ReplicaTail(
    IDocumentStore store, IEnumerable<IReplicaSubscription> subscriptions, IOptions<EventStoreOptions> options,
    ILogger<ReplicaTail> logger) : BackgroundService
{
    public const long StartOverlap = 10_000;
    private const int BatchSize = 500;

    private readonly IReplicaSubscription[] _subscriptions = [.. subscriptions];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var types = _subscriptions.SelectMany(s => s.EventTypes).Distinct().ToArray();
        long? last = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var full = false;
            try
            {
                var mark = await store.Advanced.ProjectionProgressFor(new ShardName(ShardState.HighWaterMark), token: stoppingToken);
                last ??= Math.Max(0, mark - StartOverlap);
                (last, full) = await PollAsync(last.Value, mark, types, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "The replica's log tail failed; it tries again.");
            }
            if (!full)
            {
                try
                {
                    await Task.Delay(options.Value.PollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private async Task<(long Last, bool Full)> PollAsync(long last, long mark, Type[] types, CancellationToken ct)
    {
        if (mark <= last)
        {
            return (last, false);
        }
        await using var session = store.QuerySession();
        var events = await session.Events.QueryAllRawEvents()
            .Where(e => e.AnyTenant() && e.Sequence > last && e.Sequence <= mark && e.EventTypesAre(types))
            .OrderBy(e => e.Sequence)
            .Take(BatchSize)
            .ToListAsync(ct);
        foreach (var subscription in _subscriptions)
        {
            var wanted = events.Where(e => subscription.EventTypes.Contains(e.Data.GetType())).ToList();
            if (wanted.Count > 0)
            {
                subscription.Handle(wanted);
            }
        }
        return events.Count == BatchSize ? (events[^1].Sequence, true) : (mark, false);
    }
}
