using System.Net;
using System.Text.Json.Nodes;
using ConversationService.Conversations;
using ConversationService.Storage;
using ConversationService.Summaries;
using ConversationService.Tests.Infrastructure;
using Npgsql;
using static ConversationService.Tests.Storage.StorageProbe;

namespace ConversationService.Tests.Storage;

/// <summary>
/// Deletion rewrites the content of the log's events in the deleting transaction (<see cref="EventErasure"/>): the log
/// keeps every event, its id, version, sequence number, type and timestamp, but none of what the client wrote.
/// </summary>
[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class EventErasureTests(ServiceFixture fixture) : IDisposable
{
    private readonly ApiClient _api = fixture.Client();

    [Fact]
    public async Task Given_a_conversation_with_content_everywhere_When_deleted_Then_every_event_stays_with_its_position_and_none_of_the_content()
    {
        var id = ApiClient.NewId();
        var secret = "zebra" + Guid.NewGuid().ToString("N")[..12];
        (await _api.PutConversationAsync(id, new { systemPrompt = $"You help {secret}.", metadata = new { owner = secret } }))
            .Expect(HttpStatusCode.Created);
        (await _api.PutConversationAsync(id, new { systemPrompt = $"You still help {secret}.", metadata = new { team = secret } }))
            .Expect(HttpStatusCode.OK);
        (await _api.AppendAsync(id, new
        {
            turns = new[]
            {
                new { role = "user", content = $"The code word is {secret}.", name = $"n{secret}", metadata = new { tag = secret } },
                new { role = "assistant", content = $"Noted: {secret}.", name = "bot", metadata = new { tag = secret } },
            },
        })).Expect(HttpStatusCode.Created);
        var before = await RowsAsync(id);
        Assert.Equal(4, before.Count);
        Assert.All(before, row => Assert.Contains(secret, row.Data, StringComparison.Ordinal));

        (await _api.DeleteConversationAsync(id)).Expect(HttpStatusCode.NoContent);

        var after = await RowsAsync(id);
        Assert.Equal(before.Select(Position), after.Take(before.Count).Select(Position));
        var deleted = after.Skip(before.Count).Single();
        Assert.Equal((5L, "conversation_deleted"), (deleted.Version, deleted.Type));
        Assert.True(deleted.Sequence > before.Max(r => r.Sequence));
        Assert.All(after, row => Assert.DoesNotContain(secret, row.Data, StringComparison.Ordinal));
        var turns = after.Where(r => r.Type == "turn_appended").Select(r => JsonNode.Parse(r.Data)!).ToList();
        // What carries no content stays, so usage figures and the turn ids' idempotency record stay whole.
        Assert.Equal([("", 1, "user"), ("", 2, "assistant")],
            turns.Select(t => (t["content"]!.GetValue<string>(), t["index"]!.GetValue<int>(), t["role"]!.GetValue<string>())));
        Assert.All(turns, t => Assert.True(t["tokens"]!.GetValue<int>() > 0));
        Assert.All(turns, t => Assert.Null(t["name"]));
    }

    [Fact]
    public async Task Given_a_stream_that_moved_after_it_was_read_When_the_erasure_commits_Then_nothing_is_erased_or_appended()
    {
        var id = await NewConversationAsync(_api);
        (await _api.AppendTurnAsync(id, "user", "keep me until the deletion holds")).Expect(HttpStatusCode.Created);
        var before = await RowsAsync(id);

        // Read at version 1, while the stream is at 2: the turn stored meanwhile would escape the erasure.
        var erased = await EventErasure.TryEraseAsync(fixture.Store(), Tenant, [(id, 1), (SummaryStream.Id(id), 0)],
            new ConversationDeleted(DateTimeOffset.UtcNow), default);

        Assert.False(erased);
        Assert.Equal(before, await RowsAsync(id));
        Assert.Empty(await RowsAsync(SummaryStream.Id(id)));
        Assert.Equal("keep me until the deletion holds", (await DocumentsAsync(fixture.Store(), id)).Turns.Single().Content);
    }

    private static (long Sequence, Guid Id, long Version, string Type, DateTimeOffset Timestamp) Position(Row row) =>
        (row.Sequence, row.Id, row.Version, row.Type, row.Timestamp);

    private sealed record Row(long Sequence, Guid Id, long Version, string Type, DateTimeOffset Timestamp, string Data);

    /// <summary>The stream's rows in Marten's log as stored (the erased JSON itself, not what a reader makes of it).</summary>
    private async Task<List<Row>> RowsAsync(string streamKey)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT seq_id, id, version, type, "timestamp", data::text FROM conversations.mt_events
            WHERE tenant_id = $1 AND stream_id = $2 ORDER BY version
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Tenant });
        command.Parameters.Add(new NpgsqlParameter { Value = streamKey });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<Row>();
        while (await reader.ReadAsync())
        {
            rows.Add(new Row(reader.GetInt64(0), reader.GetGuid(1), reader.GetInt64(2), reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.GetString(5)));
        }
        return rows;
    }

    public void Dispose() => _api.Dispose();
}
