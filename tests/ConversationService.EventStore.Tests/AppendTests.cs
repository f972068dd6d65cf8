using Npgsql;
using static ConversationService.EventStore.Tests.TestEvents;

namespace ConversationService.EventStore.Tests;

[Collection(PostgresCollection.Name)]
public sealed class AppendTests(PostgresFixture db)
{
    [Fact]
    public async Task Given_new_stream_When_appending_two_events_Then_they_get_versions_1_and_2_and_read_back_in_order()
    {
        await using var host = await db.StartAsync();

        var stored = await host.Store.AppendAsync(Tenant, "s1", StreamType, Notes("a", "b"), null, default);

        Assert.Equal([1L, 2L], stored.Select(e => e.Version));
        Assert.True(stored[1].Sequence > stored[0].Sequence);
        var read = await host.Store.ReadStreamAsync(Tenant, "s1", 0, default);
        Assert.Equal([new Noted("a"), new Noted("b")], read.Select(e => e.Data));
        Assert.Equal(stored.Select(e => (e.Sequence, e.Id, e.Version)), read.Select(e => (e.Sequence, e.Id, e.Version)));
        Assert.All(read, e => Assert.Equal("noted", e.Type));
        Assert.Equal([2L], (await host.Store.ReadStreamAsync(Tenant, "s1", 2, default)).Select(e => e.Version));
    }

    [Fact]
    public async Task Given_stream_at_version_2_When_appending_with_expected_version_1_Then_conflict_and_nothing_stored()
    {
        await using var host = await db.StartAsync();
        await host.Store.AppendAsync(Tenant, "s1", StreamType, Notes("a", "b"), null, default);

        var conflict = await Assert.ThrowsAsync<ConcurrencyException>(
            () => host.Store.AppendAsync(Tenant, "s1", StreamType, Notes("c"), expectedVersion: 1, default));

        Assert.Equal((1L, 2L), (conflict.Expected, conflict.Actual));
        Assert.Equal(2, (await host.Store.ReadStreamAsync(Tenant, "s1", 0, default)).Count);
        var appended = await host.Store.AppendAsync(Tenant, "s1", StreamType, Notes("c"), expectedVersion: 2, default);
        Assert.Equal(3, appended[0].Version);
    }

    [Fact]
    public async Task Given_32_writers_When_each_appends_50_times_to_one_stream_Then_1600_events_with_contiguous_versions()
    {
        await using var host = await db.StartAsync();

        await Task.WhenAll(Enumerable.Range(0, 32).Select(writer => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                await host.Store.AppendAsync(Tenant, "busy", StreamType, Notes($"{writer}-{i}"), null, default);
            }
        })));

        var events = await host.Store.ReadStreamAsync(Tenant, "busy", 0, default);
        Assert.Equal(Enumerable.Range(1, 1600).Select(v => (long)v), events.Select(e => e.Version));
        Assert.Equal(1600, events.Select(e => ((Noted)e.Data).Text).Distinct().Count());
        Assert.Equal(events.Select(e => e.Sequence).Order(), events.Select(e => e.Sequence));
        Assert.Equal(1600, await host.Store.GetIndexedVersionAsync(Tenant, "busy", default));
    }

    [Fact]
    public async Task Given_writers_with_the_same_expected_version_When_racing_Then_exactly_one_wins()
    {
        await using var host = await db.StartAsync();
        await host.Store.AppendAsync(Tenant, "race", StreamType, Notes("first"), null, default);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 16).Select(writer => Task.Run(async () =>
        {
            try
            {
                await host.Store.AppendAsync(Tenant, "race", StreamType, Notes($"w{writer}"), expectedVersion: 1, default);
                return "won";
            }
            catch (ConcurrencyException e) when (e.Actual == 2)
            {
                return "conflict";
            }
        })));

        Assert.Single(outcomes, o => o == "won");
        Assert.Equal(15, outcomes.Count(o => o == "conflict"));
        Assert.Equal(2, (await host.Store.ReadStreamAsync(Tenant, "race", 0, default)).Count);
    }

    [Fact]
    public async Task Given_same_stream_id_under_two_tenants_When_appending_Then_they_are_separate_streams()
    {
        await using var host = await db.StartAsync();

        await host.Store.AppendAsync("t1", "shared", StreamType, Notes("one", "two"), null, default);
        var other = await host.Store.AppendAsync("t2", "shared", StreamType, Notes("three"), expectedVersion: 0, default);

        Assert.Equal(1, other[0].Version);
        Assert.Equal([new Noted("one"), new Noted("two")], (await host.Store.ReadStreamAsync("t1", "shared", 0, default)).Select(e => e.Data));
        Assert.Equal([new Noted("three")], (await host.Store.ReadStreamAsync("t2", "shared", 0, default)).Select(e => e.Data));
        Assert.Empty(await host.Store.ReadStreamAsync("t3", "shared", 0, default));
        Assert.Equal(2, await host.Store.GetIndexedVersionAsync("t1", "shared", default));
        Assert.Null(await host.Store.GetIndexedVersionAsync("t3", "shared", default));
        await using var session = await host.Store.OpenForWritingAsync("t2", "shared", StreamType, default);
        Assert.Equal((1L, false), (session.Version, session.IsNew));
    }

    [Fact]
    public async Task Given_erasable_events_When_a_session_erases_and_commits_Then_only_its_tenants_named_streams_lose_their_content()
    {
        await using var host = await db.StartAsync();
        var before = await host.Store.AppendAsync(Tenant, "s", StreamType, [new Noted("plain"), new Secret("a"), new Secret("b")], null, default);
        await host.Store.AppendAsync(Tenant, "s-related", StreamType, [new Secret("c")], null, default);
        await host.Store.AppendAsync("tenant-b", "s", StreamType, [new Secret("other tenant")], null, default);
        await host.Store.AppendAsync(Tenant, "unrelated", StreamType, [new Secret("keep")], null, default);
        await using (var abandoned = await host.Store.OpenForWritingAsync(Tenant, "s", StreamType, default))
        {
            await abandoned.EraseContentAsync(["s-related"], default); // rolled back with the session
        }
        Assert.Equal(new Secret("a"), (await host.Store.ReadStreamAsync(Tenant, "s", 2, default))[0].Data);

        await using (var session = await host.Store.OpenForWritingAsync(Tenant, "s", StreamType, default))
        {
            await session.EraseContentAsync(["s-related"], default);
            await session.AppendAndCommitAsync(Notes("deleted"), null, default);
        }

        var erased = await host.Store.ReadStreamAsync(Tenant, "s", 0, default);
        Assert.Equal([new Noted("plain"), new Secret(""), new Secret(""), new Noted("deleted")], erased.Select(e => e.Data));
        Assert.Equal(before.Select(e => (e.Sequence, e.Id, e.Version)), erased.Take(3).Select(e => (e.Sequence, e.Id, e.Version)));
        Assert.Equal([new Secret("")], (await host.Store.ReadStreamAsync(Tenant, "s-related", 0, default)).Select(e => e.Data));
        Assert.Equal([new Secret("other tenant")], (await host.Store.ReadStreamAsync("tenant-b", "s", 0, default)).Select(e => e.Data));
        Assert.Equal([new Secret("keep")], (await host.Store.ReadStreamAsync(Tenant, "unrelated", 0, default)).Select(e => e.Data));
    }

    [Fact]
    public async Task Given_open_session_When_disposed_without_commit_Then_nothing_is_written()
    {
        await using var host = await db.StartAsync();

        await using (var session = await host.Store.OpenForWritingAsync(Tenant, "abandoned", StreamType, default))
        {
            Assert.True(session.IsNew);
            Assert.Equal(0, session.Version);
        }

        Assert.Null(await host.Store.GetIndexedVersionAsync(Tenant, "abandoned", default));
        await using var again = await host.Store.OpenForWritingAsync(Tenant, "abandoned", StreamType, default);
        Assert.True(again.IsNew);
    }

    [Fact]
    public async Task Given_archived_stream_When_opening_it_Then_session_reports_archived()
    {
        await using var host = await db.StartAsync();
        await using (var session = await host.Store.OpenForWritingAsync(Tenant, "gone", StreamType, default))
        {
            session.MarkArchived();
            await session.AppendAndCommitAsync(Notes("bye"), null, default);
        }

        await using var reopened = await host.Store.OpenForWritingAsync(Tenant, "gone", StreamType, default);

        Assert.True(reopened.IsArchived);
        Assert.Equal(1, reopened.Version);
    }

    [Fact]
    public async Task Given_one_schema_When_initializing_repeatedly_and_concurrently_Then_it_succeeds_and_the_store_works()
    {
        var options = new EventStoreOptions { Schema = PostgresFixture.NewSchema() };
        EventStore NewStore() => new(db.DataSource, options, new EventTypeRegistry().Register<Noted>(), [new NoteCounter()], []);

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => NewStore().InitializeAsync(default))));
        await NewStore().InitializeAsync(default);

        var stored = await NewStore().AppendAsync(Tenant, "s", StreamType, Notes("x"), null, default);
        Assert.Equal(1, stored[0].Version);
        Assert.Equal(1, await db.ScalarAsync<int>($"SELECT notes FROM {options.Schema}.note_counts"));
    }

    [Fact]
    public async Task Given_unregistered_event_type_When_appending_Then_it_is_refused_and_nothing_stored()
    {
        await using var host = await db.StartAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(
            () => host.Store.AppendAsync(Tenant, "s", StreamType, [new Noted("ok"), new Uri("http://x")], null, default));

        Assert.Null(await host.Store.GetIndexedVersionAsync(Tenant, "s", default));
        Assert.Equal(0L, await db.ScalarAsync<long>($"SELECT count(*) FROM {host.Schema}.events"));
    }

    [Fact]
    public async Task Given_projection_rows_When_opening_with_a_read_Then_the_read_sees_the_state_under_the_lock()
    {
        await using var host = await db.StartAsync(store => store.InlineProjection<NoteCounter>());
        await host.Store.AppendAsync(Tenant, "s", StreamType, Notes("a", "b"), null, default);
        var readNotes = $"SELECT notes FROM {host.Schema}.note_counts WHERE tenant_id = $1 AND stream_id = $2";
        static async Task<int?> ReadNotes(NpgsqlDataReader reader, CancellationToken ct) =>
            await reader.ReadAsync(ct) ? reader.GetInt32(0) : null;

        var (session, notes) = await host.Store.OpenForWritingAsync(Tenant, "s", StreamType, readNotes, ReadNotes, default);
        await using (session)
        {
            Assert.Equal((2, 2L), (notes, session.Version));
            await session.AppendAndCommitAsync(Notes("c"), expectedVersion: 2, default);
        }

        var (fresh, none) = await host.Store.OpenForWritingAsync("tenant-b", "s", StreamType, readNotes, ReadNotes, default);
        await using (fresh)
        {
            Assert.Null(none);
            Assert.True(fresh.IsNew);
        }

        var (again, after) = await host.Store.OpenForWritingAsync(Tenant, "s", StreamType, readNotes, ReadNotes, default);
        await using (again)
        {
            Assert.Equal((3, 3L), (after, again.Version));
        }
    }

    [Fact]
    public async Task Given_session_When_reading_through_its_connection_Then_it_sees_its_locked_state()
    {
        await using var host = await db.StartAsync(store => store.InlineProjection<NoteCounter>());
        await host.Store.AppendAsync(Tenant, "s", StreamType, Notes("a"), null, default);

        await using var session = await host.Store.OpenForWritingAsync(Tenant, "s", StreamType, default);
        await using var command = new NpgsqlCommand(
            $"SELECT notes FROM {host.Schema}.note_counts WHERE tenant_id = $1 AND stream_id = $2", session.Connection, session.Transaction)
        {
            Parameters = { new() { Value = Tenant }, new() { Value = "s" } },
        };
        Assert.Equal(1, (int)(await command.ExecuteScalarAsync())!);
        var stored = await session.AppendAndCommitAsync(Notes("b"), session.Version, default);

        Assert.Equal(2, stored[0].Version);
        Assert.Equal(2, session.Version);
    }

    [Fact]
    public async Task Given_a_known_version_When_appending_at_it_Then_one_batch_stores_the_events_and_runs_projections()
    {
        await using var host = await db.StartAsync(store => store.InlineProjection<NoteCounter>());
        var first = await host.Store.AppendAsync(Tenant, "s", StreamType, Notes("a"), null, default);

        var stored = await host.Store.TryAppendAtVersionAsync(Tenant, "s", 1, Notes("b", "c"), default);

        Assert.NotNull(stored);
        Assert.Equal([2L, 3L], stored.Select(e => e.Version));
        Assert.True(stored[0].Sequence > first[0].Sequence && stored[1].Sequence > stored[0].Sequence);
        var read = await host.Store.ReadStreamAsync(Tenant, "s", 0, default);
        Assert.Equal(Notes("a", "b", "c"), read.Select(e => e.Data));
        Assert.Equal(3, await host.Store.GetIndexedVersionAsync(Tenant, "s", default));
        Assert.Equal(3, await db.ScalarAsync<int>($"SELECT notes FROM {host.Schema}.note_counts"));
    }

    [Fact]
    public async Task Given_a_stream_that_moved_archived_or_never_existed_When_appending_at_a_stale_version_Then_null_and_nothing_stored()
    {
        await using var host = await db.StartAsync(store => store.InlineProjection<NoteCounter>());
        await host.Store.AppendAsync(Tenant, "moved", StreamType, Notes("a", "b"), null, default);
        await using (var session = await host.Store.OpenForWritingAsync(Tenant, "archived", StreamType, default))
        {
            session.MarkArchived();
            await session.AppendAndCommitAsync([], null, default); // archived without a version change
        }

        Assert.Null(await host.Store.TryAppendAtVersionAsync(Tenant, "moved", 1, Notes("stale"), default));
        Assert.Null(await host.Store.TryAppendAtVersionAsync(Tenant, "archived", 0, Notes("late"), default));
        Assert.Null(await host.Store.TryAppendAtVersionAsync(Tenant, "never", 0, Notes("x"), default));
        Assert.Null(await host.Store.TryAppendAtVersionAsync("tenant-b", "moved", 2, Notes("other tenant"), default));

        Assert.Equal(2, (await host.Store.ReadStreamAsync(Tenant, "moved", 0, default)).Count);
        Assert.Equal(2L, await db.ScalarAsync<long>($"SELECT count(*) FROM {host.Schema}.events"));
        Assert.Equal(2, await db.ScalarAsync<int>($"SELECT sum(notes)::int FROM {host.Schema}.note_counts"));
    }

    [Fact]
    public async Task Given_writers_that_know_the_same_version_When_racing_Then_exactly_one_appends_at_it()
    {
        await using var host = await db.StartAsync();
        await host.Store.AppendAsync(Tenant, "race", StreamType, Notes("first"), null, default);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 16).Select(writer =>
            Task.Run(() => host.Store.TryAppendAtVersionAsync(Tenant, "race", 1, Notes($"w{writer}"), default))));

        Assert.Single(outcomes, o => o is not null);
        Assert.Equal([1L, 2L], (await host.Store.ReadStreamAsync(Tenant, "race", 0, default)).Select(e => e.Version));
    }
}
