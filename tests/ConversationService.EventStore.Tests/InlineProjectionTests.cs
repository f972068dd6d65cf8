using Npgsql;
using static ConversationService.EventStore.Tests.TestEvents;

namespace ConversationService.EventStore.Tests;

[Collection(PostgresCollection.Name)]
public sealed class InlineProjectionTests(PostgresFixture db)
{
    [Fact]
    public async Task Given_inline_projection_When_appending_Then_its_row_is_written_with_the_events()
    {
        await using var host = await db.StartAsync(store => store.InlineProjection<NoteCounter>());

        await host.Store.AppendAsync(Tenant, "s", StreamType, Notes("a", "b"), null, default);
        await host.Store.AppendAsync(Tenant, "s", StreamType, Notes("c"), null, default);

        Assert.Equal((3, 3L), await CountAsync(host, "s"));
    }

    [Fact]
    public async Task Given_failing_append_When_a_projection_command_fails_Then_events_version_and_projection_row_roll_back()
    {
        await using var host = await db.StartAsync(store => store.InlineProjection<NoteCounter>().InlineProjection<Blocker>());
        await host.Store.AppendAsync(Tenant, "s", StreamType, Notes("a", "b"), null, default);

        var failure = await Assert.ThrowsAsync<PostgresException>(() => host.Store.AppendAsync(
            Tenant, "s", StreamType, [new Noted("c"), new Blocked(LockKey: 1, Fail: true)], null, default));

        Assert.Equal(PostgresErrorCodes.DivisionByZero, failure.SqlState);
        Assert.Equal((2, 2L), await CountAsync(host, "s"));
        Assert.Equal(2, (await host.Store.ReadStreamAsync(Tenant, "s", 0, default)).Count);
        Assert.Equal(2, await host.Store.GetIndexedVersionAsync(Tenant, "s", default));
        var next = await host.Store.AppendAsync(Tenant, "s", StreamType, Notes("d"), expectedVersion: 2, default);
        Assert.Equal(3, next[0].Version);
    }

    private static async Task<(int Notes, long LastVersion)> CountAsync(TestHost host, string streamId)
    {
        await using var command = host.Store.DataSource.CreateCommand(
            $"SELECT notes, last_version FROM {host.Schema}.note_counts WHERE tenant_id = $1 AND stream_id = $2");
        command.Parameters.Add(new() { Value = Tenant });
        command.Parameters.Add(new() { Value = streamId });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.GetInt32(0), reader.GetInt64(1));
    }
}
