using System.Net;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Conversations;

/// <summary>
/// After its own append a replica appends the next turns in one round trip, assuming the conversation is where it
/// left it. Another replica (a second host over the same database) moves the conversation behind its back, so each
/// test proves that assumption is checked by the database and a stale one changes nothing but the path.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class AppendAtKnownStateTests(ServiceFixture fixture)
{
    private readonly ApiClient _api = fixture.Client();

    /// <summary>"indexes@version" of an append's answer.</summary>
    private static string Placed(Reply reply) =>
        string.Join(',', reply.Body["turns"]!.AsArray().Select(t => t!["index"]!.GetValue<int>())) + "@" + reply.Get<long>("version");

    [Fact]
    public async Task Given_appends_from_this_replica_When_another_replica_appends_between_them_Then_indexes_and_versions_stay_contiguous()
    {
        var id = ApiClient.NewId();
        (await _api.AppendTurnAsync(id, "user", "one")).Expect(HttpStatusCode.Created);
        var second = (await _api.AppendTurnAsync(id, "assistant", "two")).Expect(HttpStatusCode.Created);

        await fixture.OnAnotherReplicaAsync(api => api.AppendTurnAsync(id, "user", "three from elsewhere"));
        var fourth = (await _api.AppendTurnAsync(id, "assistant", "four")).Expect(HttpStatusCode.Created);
        var fifth = (await _api.AppendTurnAsync(id, "user", "five")).Expect(HttpStatusCode.Created);

        Assert.Equal("2@3", Placed(second));
        Assert.Equal("4@5", Placed(fourth));
        Assert.Equal("5@6", Placed(fifth));
        var turns = (await _api.GetTurnsAsync(id)).Expect(HttpStatusCode.OK).Body["turns"]!.AsArray();
        Assert.Equal(["one", "two", "three from elsewhere", "four", "five"], turns.Select(t => t!["content"]!.GetValue<string>()));
        Assert.Equal([1, 2, 3, 4, 5], turns.Select(t => t!["index"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Given_a_known_version_When_another_replica_moved_it_and_if_match_names_the_old_one_Then_409_and_nothing_is_stored()
    {
        var id = ApiClient.NewId();
        var first = (await _api.AppendTurnAsync(id, "user", "one")).Expect(HttpStatusCode.Created);

        await fixture.OnAnotherReplicaAsync(api => api.AppendTurnAsync(id, "assistant", "two"));
        var stale = await _api.AppendAsync(id, new { role = "user", content = "three" }, ifMatch: $"\"{first.Get<long>("version")}\"");
        var current = await _api.AppendAsync(id, new { role = "user", content = "three" }, ifMatch: "\"3\"");

        Assert.Equal(HttpStatusCode.Conflict, stale.Status);
        Assert.Equal("3@4", Placed(current.Expect(HttpStatusCode.Created)));
    }

    [Fact]
    public async Task Given_a_known_version_When_another_replica_deletes_the_conversation_Then_an_append_here_is_404()
    {
        var id = ApiClient.NewId();
        (await _api.AppendTurnAsync(id, "user", "one")).Expect(HttpStatusCode.Created);

        await fixture.OnAnotherReplicaAsync(api => api.DeleteConversationAsync(id));
        var late = await _api.AppendTurnAsync(id, "assistant", "two");

        Assert.Equal(HttpStatusCode.NotFound, late.Status);
        Assert.Equal(0, await fixture.CountReadModelRowsAsync(id));
    }

    [Fact]
    public async Task Given_a_known_version_When_a_stored_turn_is_retried_Then_the_original_result_returns_and_nothing_is_stored()
    {
        var id = ApiClient.NewId();
        var original = (await _api.AppendTurnAsync(id, "user", "one", "turn-1")).Expect(HttpStatusCode.Created);
        (await _api.AppendTurnAsync(id, "assistant", "two", "turn-2")).Expect(HttpStatusCode.Created);

        var retry = (await _api.AppendTurnAsync(id, "user", "one", "turn-1")).Expect(HttpStatusCode.Created);
        var next = (await _api.AppendTurnAsync(id, "user", "three", "turn-3")).Expect(HttpStatusCode.Created);

        Assert.Equal(original.Text, retry.Text);
        Assert.Equal("3@4", Placed(next));
    }

    [Fact]
    public async Task Given_a_known_version_When_settings_change_Then_the_next_append_follows_the_new_version()
    {
        var id = ApiClient.NewId();
        (await _api.AppendTurnAsync(id, "user", "one")).Expect(HttpStatusCode.Created);

        await fixture.OnAnotherReplicaAsync(api => api.PutConversationAsync(id, new { systemPrompt = "Be brief." }));
        var next = (await _api.AppendTurnAsync(id, "assistant", "two")).Expect(HttpStatusCode.Created);

        Assert.Equal("2@4", Placed(next));
    }
}
