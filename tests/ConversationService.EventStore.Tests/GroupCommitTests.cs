using static ConversationService.EventStore.Tests.TestEvents;

namespace ConversationService.EventStore.Tests;

/// <summary>
/// Appends at a known version share commits. To make them share one for sure, the single writer's first commit is
/// held behind a stream lock while the next appends queue up.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class GroupCommitTests(PostgresFixture db)
{
    [Fact]
    public async Task Given_appends_queued_behind_a_commit_When_one_is_stale_Then_it_alone_gets_null_and_the_rest_commit_in_one_transaction()
    {
        await using var host = await StartAsync();
        foreach (var stream in new[] { "a", "b", "c", "held" })
        {
            await host.Store.AppendAsync(Tenant, stream, StreamType, Notes("first"), null, default);
        }
        await host.Store.AppendAsync(Tenant, "b", StreamType, Notes("moved on"), null, default);

        Task<IReadOnlyList<StoredEvent>?> a, b, c;
        await using (var session = await host.Store.OpenForWritingAsync(Tenant, "held", StreamType, default))
        {
            var held = host.Store.TryAppendAtVersionAsync(Tenant, "held", 1, Notes("behind the lock"), default);
            await WaitForLockWaitAsync(host.Schema);
            a = host.Store.TryAppendAtVersionAsync(Tenant, "a", 1, Notes("a2"), default);
            b = host.Store.TryAppendAtVersionAsync(Tenant, "b", 1, Notes("stale"), default);
            c = host.Store.TryAppendAtVersionAsync(Tenant, "c", 1, Notes("c2"), default);
            await session.AppendAndCommitAsync(Notes("the session's"), null, default);
            Assert.Null(await held);
        }

        Assert.Equal(2, Assert.Single((await a)!).Version);
        Assert.Null(await b);
        Assert.Equal(2, Assert.Single((await c)!).Version);
        Assert.Equal(Notes("first", "moved on"), (await host.Store.ReadStreamAsync(Tenant, "b", 0, default)).Select(e => e.Data));
        Assert.Equal(Notes("first", "the session's"), (await host.Store.ReadStreamAsync(Tenant, "held", 0, default)).Select(e => e.Data));
        Assert.Equal(1L, await db.ScalarAsync<long>(
            $"SELECT count(DISTINCT xmin::text) FROM {host.Schema}.events WHERE stream_id IN ('a', 'c') AND version = 2"));
        Assert.Equal(2, await db.ScalarAsync<int>($"SELECT notes FROM {host.Schema}.note_counts WHERE stream_id = 'a'"));
        Assert.Equal(2, await db.ScalarAsync<int>($"SELECT notes FROM {host.Schema}.note_counts WHERE stream_id = 'b'"));
    }

    [Fact]
    public async Task Given_appends_sharing_a_commit_When_a_projection_command_of_one_fails_Then_only_its_caller_gets_the_error()
    {
        await using var host = await StartAsync(store => store.InlineProjection<Blocker>());
        foreach (var stream in new[] { "ok", "failing", "held" })
        {
            await host.Store.AppendAsync(Tenant, stream, StreamType, Notes("first"), null, default);
        }

        Task<IReadOnlyList<StoredEvent>?> ok, failing;
        await using (var session = await host.Store.OpenForWritingAsync(Tenant, "held", StreamType, default))
        {
            var held = host.Store.TryAppendAtVersionAsync(Tenant, "held", 1, Notes("behind the lock"), default);
            await WaitForLockWaitAsync(host.Schema);
            failing = host.Store.TryAppendAtVersionAsync(Tenant, "failing", 1, [new Blocked(LockKey: 7, Fail: true)], default);
            ok = host.Store.TryAppendAtVersionAsync(Tenant, "ok", 1, Notes("second"), default);
            await session.AppendAndCommitAsync([], null, default);
            Assert.NotNull(await held);
        }

        var error = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => failing);
        Assert.Equal(Npgsql.PostgresErrorCodes.DivisionByZero, error.SqlState);
        Assert.Equal(2, Assert.Single((await ok)!).Version);
        Assert.Single(await host.Store.ReadStreamAsync(Tenant, "failing", 0, default));
    }

    [Fact]
    public async Task Given_appends_sharing_a_commit_When_a_projection_of_one_throws_while_building_Then_only_its_caller_gets_the_error()
    {
        await using var host = await StartAsync(store => store.InlineProjection<Blocker>());
        var streams = new[] { "ok-1", "poisoned", "ok-2", "held" };
        foreach (var stream in streams)
        {
            await host.Store.AppendAsync(Tenant, stream, StreamType, Notes("first"), null, default);
        }

        Task<IReadOnlyList<StoredEvent>?> ok1, poisoned, ok2;
        await using (var session = await host.Store.OpenForWritingAsync(Tenant, "held", StreamType, default))
        {
            var held = host.Store.TryAppendAtVersionAsync(Tenant, "held", 1, Notes("behind the lock"), default);
            await WaitForLockWaitAsync(host.Schema);
            ok1 = host.Store.TryAppendAtVersionAsync(Tenant, "ok-1", 1, Notes("second"), default);
            poisoned = host.Store.TryAppendAtVersionAsync(Tenant, "poisoned", 1, [new Poisoned("bad data")], default);
            ok2 = host.Store.TryAppendAtVersionAsync(Tenant, "ok-2", 1, Notes("second"), default);
            await session.AppendAndCommitAsync([], null, default);
            Assert.NotNull(await held);
        }

        Assert.Equal("bad data", (await Assert.ThrowsAsync<InvalidOperationException>(() => poisoned)).Message);
        Assert.Equal(2, Assert.Single((await ok1)!).Version);
        Assert.Equal(2, Assert.Single((await ok2)!).Version);
        Assert.Single(await host.Store.ReadStreamAsync(Tenant, "poisoned", 0, default));
    }

    [Fact]
    public async Task Given_concurrent_appends_When_one_event_cannot_be_serialized_Then_its_caller_alone_fails_and_nothing_of_it_is_stored()
    {
        await using var host = await StartAsync();
        foreach (var stream in new[] { "ok", "nan", "held" })
        {
            await host.Store.AppendAsync(Tenant, stream, StreamType, Notes("first"), null, default);
        }

        Task<IReadOnlyList<StoredEvent>?> ok, nan;
        await using (var session = await host.Store.OpenForWritingAsync(Tenant, "held", StreamType, default))
        {
            var held = host.Store.TryAppendAtVersionAsync(Tenant, "held", 1, Notes("behind the lock"), default);
            await WaitForLockWaitAsync(host.Schema);
            nan = host.Store.TryAppendAtVersionAsync(Tenant, "nan", 1, [new Measured(double.NaN)], default);
            ok = host.Store.TryAppendAtVersionAsync(Tenant, "ok", 1, Notes("second"), default);
            await session.AppendAndCommitAsync([], null, default);
            Assert.NotNull(await held);
        }

        await Assert.ThrowsAsync<ArgumentException>(() => nan);
        Assert.Equal(2, Assert.Single((await ok)!).Version);
        Assert.Single(await host.Store.ReadStreamAsync(Tenant, "nan", 0, default));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)] // concurrent commits over the same streams: the ordered row locks keep them from deadlocking
    public async Task Given_many_concurrent_appends_on_many_streams_Then_each_is_stored_once_in_order(int writers)
    {
        await using var host = await StartAsync(store => store.Options(options => options.AppendWriters = writers));
        const int streams = 24, rounds = 20;
        await Task.WhenAll(Enumerable.Range(0, streams).Select(s => Task.Run(async () =>
        {
            for (var version = 0; version < rounds; version++)
            {
                Assert.NotNull(await host.Store.TryAppendAtVersionAsync(Tenant, $"s{s}", version, Notes($"n{version}"), default)
                    ?? (version == 0 ? await host.Store.AppendAsync(Tenant, $"s{s}", StreamType, Notes("n0"), 0, default) : null));
            }
        })));

        for (var s = 0; s < streams; s++)
        {
            var read = await host.Store.ReadStreamAsync(Tenant, $"s{s}", 0, default);
            Assert.Equal(Enumerable.Range(0, rounds).Select(v => new Noted($"n{v}")), read.Select(e => e.Data));
        }
        Assert.Equal(streams * rounds, await db.ScalarAsync<int>($"SELECT sum(notes)::int FROM {host.Schema}.note_counts"));
    }

    private Task<TestHost> StartAsync(Action<EventStoreBuilder>? configure = null) =>
        db.StartAsync(store =>
        {
            store.InlineProjection<NoteCounter>().Options(options => options.AppendWriters = 1);
            configure?.Invoke(store);
        });

    /// <summary>Until a backend of this schema waits for a row lock: the writer's commit is stuck behind the session.</summary>
    private async Task WaitForLockWaitAsync(string schema)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            if (await db.ScalarAsync<long>(
                    $"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%{schema}%lock_streams_at_versions%'") > 0)
            {
                return;
            }
            await Task.Delay(25);
        }
        throw new TimeoutException("The writer's commit never waited for the held stream lock.");
    }
}
