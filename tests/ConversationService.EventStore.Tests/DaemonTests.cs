using Npgsql;
using static ConversationService.EventStore.Tests.TestEvents;

namespace ConversationService.EventStore.Tests;

[Collection(PostgresCollection.Name)]
public sealed class DaemonTests(PostgresFixture db)
{
    [Fact]
    public async Task Given_events_When_the_daemon_runs_Then_it_handles_all_in_seq_order_and_a_restart_resumes_from_the_checkpoint()
    {
        var schema = PostgresFixture.NewSchema();
        var stored = new List<StoredEvent>();
        await using (var host = await db.StartAsync(store => store.AsyncProjection<Recorder>(), schema))
        {
            stored.AddRange(await host.Store.AppendAsync(Tenant, "s1", StreamType, Notes("1", "2", "3"), null, default));
            stored.AddRange(await host.Store.AppendAsync("tenant-b", "s2", StreamType, Notes("4", "5"), null, default));
            stored.AddRange(await host.Store.AppendAsync(Tenant, "s1", StreamType, Notes("6"), null, default));
            var recorder = host.Get<Recorder>();

            await Wait.UntilAsync(() => recorder.Handled.Count == 6, "six events are handled");
            await Wait.UntilAsync(async () => await CheckpointAsync(schema) == stored[^1].Sequence, "the checkpoint is saved");

            Assert.Equal(stored.Select(e => (e.Sequence, e.TenantId, e.StreamId, e.Version)),
                recorder.Handled.Select(e => (e.Sequence, e.TenantId, e.StreamId, e.Version)));
            Assert.Equal(stored.Select(e => e.Data), recorder.Handled.Select(e => e.Data));
        }

        var offline = new EventStore(db.DataSource, new EventStoreOptions { Schema = schema }, Registry(), [], []);
        var later = await offline.AppendAsync(Tenant, "s1", StreamType, Notes("7", "8"), null, default);
        await using var restarted = await db.StartAsync(store => store.AsyncProjection<Recorder>(), schema);
        var resumed = restarted.Get<Recorder>();

        await Wait.UntilAsync(() => resumed.Handled.Count >= 2, "the new events are handled after the restart");
        await Task.Delay(200);

        Assert.Equal(later.Select(e => e.Sequence), resumed.Handled.Select(e => e.Sequence));
    }

    [Fact]
    public async Task Given_a_slow_transaction_holding_a_lower_seq_When_later_events_commit_first_Then_they_wait_and_all_arrive_in_seq_order()
    {
        var (host, recorder) = await StartWithOneHandledEventAsync();
        await using var _ = host;

        const long key = 7_001;
        await using var holder = await HoldLockAsync(key);
        var slow = host.Store.AppendAsync(Tenant, "slow", StreamType, [new Blocked(key, Fail: false)], null, default);
        await WaitUntilBlockedAsync(key);
        var after = await AppendLaterEventsAsync(host);
        await AssertOnlyFirstEventHandledMeanwhileAsync(recorder);

        await ReleaseLockAsync(holder, key);
        var slowEvent = Assert.Single(await slow);
        await Wait.UntilAsync(() => recorder.Handled.Count == 4, "all four events are handled");

        Assert.True(slowEvent.Sequence < after[0].Sequence);
        Assert.Equal([new Noted("before"), new Blocked(key, false), new Noted("after-1"), new Noted("after-2")],
            recorder.Handled.Select(e => e.Data));
        Assert.Equal(recorder.Handled.Select(e => e.Sequence).Order(), recorder.Handled.Select(e => e.Sequence));
    }

    [Fact]
    public async Task Given_a_slow_append_at_a_known_version_holding_a_lower_seq_When_later_events_commit_first_Then_it_is_not_skipped()
    {
        var (host, recorder) = await StartWithOneHandledEventAsync();
        await using var _ = host;

        const long key = 7_005;
        await using var holder = await HoldLockAsync(key);
        var slow = host.Store.TryAppendAtVersionAsync(Tenant, "s1", 1, [new Blocked(key, Fail: false)], default);
        await WaitUntilBlockedAsync(key);
        var after = await AppendLaterEventsAsync(host);
        await AssertOnlyFirstEventHandledMeanwhileAsync(recorder);

        await ReleaseLockAsync(holder, key);
        var slowEvent = Assert.Single((await slow)!);
        await Wait.UntilAsync(() => recorder.Handled.Count == 4, "all four events are handled");

        Assert.True(slowEvent.Sequence < after[0].Sequence);
        Assert.Equal([new Noted("before"), new Blocked(key, false), new Noted("after-1"), new Noted("after-2")],
            recorder.Handled.Select(e => e.Data));
    }

    [Fact]
    public async Task Given_a_later_seq_committed_by_a_writer_with_an_older_xid_When_the_slow_writer_still_runs_Then_its_event_is_not_skipped()
    {
        // The early writer's xid is below the slow writer's, so once it commits, pg_snapshot_xmax (latest completed
        // xid + 1) can equal the slow writer's xid: a horizon taken from xmax would pass this gap too early.
        var (host, recorder) = await StartWithOneHandledEventAsync();
        await using var _ = host;

        const long key = 7_003;
        await using var holder = await HoldLockAsync(key);
        var early = await host.Store.OpenForWritingAsync(Tenant, "early", StreamType, default);
        var slow = host.Store.AppendAsync(Tenant, "slow", StreamType, [new Blocked(key, Fail: false)], null, default);
        await WaitUntilBlockedAsync(key);
        await using (early)
        {
            await early.AppendAndCommitAsync(Notes("early"), null, default);
        }

        await AssertOnlyFirstEventHandledMeanwhileAsync(recorder);

        await ReleaseLockAsync(holder, key);
        await slow;
        await Wait.UntilAsync(() => recorder.Handled.Count == 3, "all three events are handled");

        Assert.Equal([new Noted("before"), new Blocked(key, false), new Noted("early")], recorder.Handled.Select(e => e.Data));
    }

    [Fact]
    public async Task Given_a_transaction_that_drew_several_seqs_When_it_rolls_back_late_Then_the_gap_is_held_until_then_and_passed()
    {
        var (host, recorder) = await StartWithOneHandledEventAsync();
        await using var _ = host;

        const long key = 7_002;
        await using var holder = await HoldLockAsync(key);
        var doomed = host.Store.AppendAsync(
            Tenant, "doomed", StreamType, [new Noted("doomed-1"), new Blocked(key, Fail: true), new Noted("doomed-2")], null, default);
        await WaitUntilBlockedAsync(key);
        var after = await AppendLaterEventsAsync(host);
        await AssertOnlyFirstEventHandledMeanwhileAsync(recorder);

        await ReleaseLockAsync(holder, key);
        await Assert.ThrowsAsync<PostgresException>(() => doomed);
        await Wait.UntilAsync(() => recorder.Handled.Count == 3, "the later events are handled");
        await Wait.UntilAsync(async () => await CheckpointAsync(host.Schema) == after[^1].Sequence, "the checkpoint passes the gap");

        Assert.Equal([new Noted("before"), new Noted("after-1"), new Noted("after-2")], recorder.Handled.Select(e => e.Data));
        Assert.True(after[0].Sequence - recorder.Handled[0].Sequence > 3, "the rolled-back append left a gap of three values");
    }

    [Fact]
    public async Task Given_writers_and_failing_appends_racing_When_the_daemon_reads_meanwhile_Then_every_committed_event_arrives_once_in_order()
    {
        await using var host = await db.StartAsync(store => store.AsyncProjection<Recorder>().InlineProjection<Blocker>());
        var recorder = host.Get<Recorder>();

        var committed = (await Task.WhenAll(Enumerable.Range(0, 8).Select(writer => Task.Run(async () =>
        {
            var mine = new List<StoredEvent>();
            for (var i = 0; i < 40; i++)
            {
                if (i % 7 == 3)
                {
                    await Assert.ThrowsAsync<PostgresException>(() => host.Store.AppendAsync(
                        Tenant, $"w{writer}", StreamType, [new Noted("lost"), new Blocked(9_999 + writer, Fail: true)], null, default));
                    continue;
                }

                mine.AddRange(await host.Store.AppendAsync(Tenant, $"w{writer}", StreamType, Notes($"{writer}-{i}", "pair"), null, default));
            }

            return mine;
        })))).SelectMany(e => e).OrderBy(e => e.Sequence).ToList();

        await Wait.UntilAsync(() => recorder.Handled.Count >= committed.Count, "every committed event is handled");

        Assert.Equal(committed.Select(e => e.Sequence), recorder.Handled.Select(e => e.Sequence));
        Assert.DoesNotContain(recorder.Handled, e => e.Data is Noted { Text: "lost" });
    }

    [Fact]
    public async Task Given_two_daemons_on_one_database_When_events_arrive_Then_each_is_handled_once_and_the_standby_takes_over()
    {
        var schema = PostgresFixture.NewSchema();
        var first = await db.StartAsync(store => store.AsyncProjection<Recorder>(), schema);
        await using var second = await db.StartAsync(store => store.AsyncProjection<Recorder>(), schema);
        Recorder[] recorders = [first.Get<Recorder>(), second.Get<Recorder>()];

        var stored = (await Task.WhenAll(Enumerable.Range(0, 4).Select(writer => Task.Run(async () =>
        {
            var mine = new List<StoredEvent>();
            for (var i = 0; i < 25; i++)
            {
                mine.AddRange(await first.Store.AppendAsync(Tenant, $"s{writer}", StreamType, Notes($"{writer}-{i}"), null, default));
            }

            return mine;
        })))).SelectMany(e => e).ToList();
        await Wait.UntilAsync(() => recorders.Sum(r => r.Handled.Count) >= 100, "all events are handled");
        await Wait.UntilAsync(async () => await CheckpointAsync(schema) == stored.Max(e => e.Sequence), "the checkpoint is saved");
        await Task.Delay(300);

        Assert.Equal(100, recorders.Sum(r => r.Handled.Count));
        Assert.Single(recorders, r => r.Handled.Count > 0);
        var activeIsFirst = recorders[0].Handled.Count > 0;
        var (active, standby) = activeIsFirst ? (recorders[0], recorders[1]) : (recorders[1], recorders[0]);
        Assert.Equal([0], active.StartedAt); // told once, before its first batch
        Assert.Empty(standby.StartedAt);

        await (activeIsFirst ? first : second).StopAsync();
        var later = await second.Store.AppendAsync(Tenant, "s0", StreamType, Notes("after failover"), null, default);
        await Wait.UntilAsync(() => standby.Handled.Count > 0, "the standby takes over");
        await first.DisposeAsync();

        Assert.Equal(later.Select(e => e.Sequence), standby.Handled.Select(e => e.Sequence));
        Assert.Equal([0], standby.StartedAt);
    }

    [Fact]
    public async Task Given_async_projections_When_they_catch_up_Then_the_indexed_version_follows_and_non_tracking_ones_are_ignored()
    {
        var schema = PostgresFixture.NewSchema();
        var offline = new EventStore(
            db.DataSource, new EventStoreOptions { Schema = schema }, Registry(), [], [new Recorder(), new Publisher()]);
        await offline.InitializeAsync(default);
        await offline.AppendAsync(Tenant, "s1", StreamType, Notes("a", "b"), null, default);
        await offline.AppendAsync(Tenant, "s2", StreamType, Notes("c"), null, default);
        await offline.AppendAsync(Tenant, "s1", StreamType, Notes("d"), null, default);

        Assert.Equal(0, await offline.GetIndexedVersionAsync(Tenant, "s1", default));
        Assert.Null(await offline.GetIndexedVersionAsync(Tenant, "missing", default));

        await using var host = await db.StartAsync(store => store.AsyncProjection<Recorder>(), schema);
        await Wait.UntilAsync(async () => await offline.GetIndexedVersionAsync(Tenant, "s1", default) == 3, "s1 is indexed");

        Assert.Equal(1, await offline.GetIndexedVersionAsync(Tenant, "s2", default));
        Assert.Null(await offline.GetIndexedVersionAsync("tenant-b", "s1", default));
    }

    [Fact]
    public async Task Given_a_disabled_async_projection_Then_it_is_left_out_not_run_not_created_and_not_waited_for()
    {
        var schema = PostgresFixture.NewSchema();
        var store = new EventStore(
            db.DataSource, new EventStoreOptions { Schema = schema }, Registry(), [], [new Disabled(), new Publisher()]);
        await store.InitializeAsync(default);
        await store.AppendAsync(Tenant, "s1", StreamType, Notes("a", "b"), null, default);

        Assert.Equal(["publisher"], store.AsyncProjections.Select(p => p.Name));
        Assert.Equal(2, await store.GetIndexedVersionAsync(Tenant, "s1", default));
        Assert.Equal(0L, await db.ScalarAsync<long>(
            $"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{schema}' AND table_name = 'disabled_rows'"));
    }

    private async Task<(TestHost Host, Recorder Recorder)> StartWithOneHandledEventAsync()
    {
        var host = await db.StartAsync(store => store.AsyncProjection<Recorder>().InlineProjection<Blocker>());
        var recorder = host.Get<Recorder>();
        await host.Store.AppendAsync(Tenant, "s1", StreamType, Notes("before"), null, default);
        await Wait.UntilAsync(() => recorder.Handled.Count == 1, "the first event is handled");
        return (host, recorder);
    }

    // Twenty poll intervals: long enough for a daemon that wrongly passes the gap to deliver what follows it.
    private static async Task AssertOnlyFirstEventHandledMeanwhileAsync(Recorder recorder)
    {
        await Task.Delay(400);
        Assert.Equal([new Noted("before")], recorder.Handled.Select(e => e.Data));
    }

    private static EventTypeRegistry Registry()
    {
        var registry = new EventTypeRegistry();
        Register(registry);
        return registry;
    }

    private sealed class Disabled : IAsyncProjection
    {
        public string Name => "disabled";
        public bool Enabled => false;
        public string Ddl(string schema) => $"CREATE TABLE IF NOT EXISTS {schema}.disabled_rows (id int)";
        public Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("A disabled projection must never run.");
    }

    private sealed class Publisher : IAsyncProjection
    {
        public string Name => "publisher";
        public bool TracksIndexedVersion => false;
        public string Ddl(string schema) => "";
        public Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private Task<long> CheckpointAsync(string schema) =>
        db.ScalarAsync<long>($"SELECT coalesce((SELECT last_seq_id FROM {schema}.progression WHERE name = 'recorder'), 0)");

    private static async Task<List<StoredEvent>> AppendLaterEventsAsync(TestHost host) =>
    [
        .. await host.Store.AppendAsync(Tenant, "s2", StreamType, Notes("after-1"), null, default),
        .. await host.Store.AppendAsync("tenant-b", "s3", StreamType, Notes("after-2"), null, default),
    ];

    private async Task<NpgsqlConnection> HoldLockAsync(long key)
    {
        var connection = await db.DataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand($"SELECT pg_advisory_lock({key})", connection);
        await command.ExecuteNonQueryAsync();
        return connection;
    }

    private static async Task ReleaseLockAsync(NpgsqlConnection connection, long key)
    {
        await using var command = new NpgsqlCommand($"SELECT pg_advisory_unlock({key})", connection);
        await command.ExecuteNonQueryAsync();
    }

    // The append has drawn its seq values once it waits for the advisory lock (the Blocker runs after the inserts).
    private Task WaitUntilBlockedAsync(long key) => Wait.UntilAsync(
        async () => await db.ScalarAsync<long>(
            $"""
            SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = {key}
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """) == 1,
        "the slow append waits for the lock");
}
