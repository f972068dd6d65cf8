using System.Collections.Concurrent;
using Npgsql;
using static ConversationService.EventStore.Tests.TestEvents;

namespace ConversationService.EventStore.Tests;

[Collection(PostgresCollection.Name)]
public sealed class ReplicaSubscriptionTests(PostgresFixture db)
{
    [Fact]
    public async Task Given_two_replicas_When_events_are_appended_on_one_Then_each_replica_gets_every_event_of_the_subscribed_types_in_order()
    {
        var schema = PostgresFixture.NewSchema();
        await using var first = await db.StartAsync(store => store.ReplicaSubscription<SecretWatcher>(), schema);
        await using var second = await db.StartAsync(store => store.ReplicaSubscription<SecretWatcher>(), schema);

        var stored = new List<StoredEvent>();
        stored.AddRange(await first.Store.AppendAsync(Tenant, "s1", StreamType, [new Noted("a"), new Secret("x")], null, default));
        stored.AddRange(await second.Store.AppendAsync("tenant-b", "s2", StreamType, [new Secret("y"), new Noted("b")], null, default));
        var secrets = stored.Where(e => e.Data is Secret).Select(e => (e.Sequence, e.TenantId, e.StreamId, e.Data)).ToList();

        foreach (var watcher in new[] { first.Get<SecretWatcher>(), second.Get<SecretWatcher>() })
        {
            await Wait.UntilAsync(() => watcher.Seen.Count >= 2, "both secrets reach the replica");
            Assert.Equal(secrets, watcher.Seen.Select(e => (e.Sequence, e.TenantId, e.StreamId, e.Data)));
        }
    }

    [Fact]
    public async Task Given_events_stored_just_before_a_replica_starts_When_it_starts_Then_they_are_handed_over_too()
    {
        var schema = PostgresFixture.NewSchema();
        var offline = new EventStore(db.DataSource, new EventStoreOptions { Schema = schema }, Registry(), [], []);
        await offline.InitializeAsync(default);
        var before = await offline.AppendAsync(Tenant, "s1", StreamType, [new Secret("before start")], null, default);

        await using var host = await db.StartAsync(store => store.ReplicaSubscription<SecretWatcher>(), schema);
        var watcher = host.Get<SecretWatcher>();

        await Wait.UntilAsync(() => watcher.Seen.Count == 1, "the event stored before the start is handed over");
        Assert.Equal(before[0].Sequence, watcher.Seen[0].Sequence);
    }

    [Fact]
    public async Task Given_a_slow_transaction_holding_a_lower_seq_When_a_later_event_commits_first_Then_the_replica_subscription_still_gets_it_in_order()
    {
        await using var host = await db.StartAsync(store => store.ReplicaSubscription<SecretWatcher>().InlineProjection<Blocker>());
        var watcher = host.Get<SecretWatcher>();
        await host.Store.AppendAsync(Tenant, "s1", StreamType, [new Secret("before")], null, default);
        await Wait.UntilAsync(() => watcher.Seen.Count == 1, "the first event is handed over");

        const long key = 7_101;
        await using var holder = await db.DataSource.OpenConnectionAsync();
        await ExecuteAsync(holder, $"SELECT pg_advisory_lock({key})");
        var slow = host.Store.AppendAsync(Tenant, "slow", StreamType, [new Secret("slow"), new Blocked(key, Fail: false)], null, default);
        await Wait.UntilAsync(
            async () => await db.ScalarAsync<long>($"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = {key}") == 1,
            "the slow append waits for the lock");
        await host.Store.AppendAsync("tenant-b", "s2", StreamType, [new Secret("after")], null, default);
        await Task.Delay(400);
        Assert.Equal([new Secret("before")], watcher.Seen.Select(e => e.Data));

        await ExecuteAsync(holder, $"SELECT pg_advisory_unlock({key})");
        await slow;
        await Wait.UntilAsync(() => watcher.Seen.Count == 3, "every secret is handed over");

        Assert.Equal([new Secret("before"), new Secret("slow"), new Secret("after")], watcher.Seen.Select(e => e.Data));
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static EventTypeRegistry Registry()
    {
        var registry = new EventTypeRegistry();
        Register(registry);
        return registry;
    }
}

/// <summary>Keeps the <see cref="Secret"/> events this replica was handed.</summary>
public sealed class SecretWatcher : IReplicaSubscription
{
    private readonly ConcurrentQueue<StoredEvent> _seen = new();

    public string Name => "secret_watcher";
    public IReadOnlyCollection<Type> EventTypes => [typeof(Secret)];
    public IReadOnlyList<StoredEvent> Seen => [.. _seen];

    public void Handle(IReadOnlyList<StoredEvent> events)
    {
        foreach (var e in events)
        {
            _seen.Enqueue(e);
        }
    }
}
