using System.Net;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Conversations;

[Collection(ServiceCollection.Name)]
public sealed class ConcurrencyTests(ServiceFixture fixture)
{
    private readonly ApiClient _api = fixture.Client();

    [Fact]
    public async Task Given_32_concurrent_writers_of_50_turns_When_they_all_post_Then_1600_turns_are_stored_once_with_contiguous_indexes()
    {
        var id = ApiClient.NewId();
        var writers = Enumerable.Range(0, 32).Select(w => Task.Run(async () =>
        {
            using var api = fixture.Client();
            for (var t = 0; t < 50; t++)
            {
                (await api.AppendTurnAsync(id, t % 2 == 0 ? "user" : "assistant", $"writer {w} turn {t}", $"w{w}-t{t}"))
                    .Expect(HttpStatusCode.Created);
            }
        }));
        await Task.WhenAll(writers);

        var turns = new List<(string Id, int Index)>();
        var after = 0;
        while (true)
        {
            var page = (await _api.GetTurnsAsync(id, $"?after={after}&limit=1000")).Expect(HttpStatusCode.OK);
            turns.AddRange(page.Body["turns"]!.AsArray().Select(t => (t!["id"]!.GetValue<string>(), t["index"]!.GetValue<int>())));
            if (page.Body["nextAfter"] is not { } next)
            {
                break;
            }
            after = next.GetValue<int>();
        }
        Assert.Equal(1_600, turns.Count);
        Assert.Equal(Enumerable.Range(1, 1_600), turns.Select(t => t.Index));
        Assert.Equal(1_600, turns.Select(t => t.Id).Distinct().Count());
        var conversation = await _api.GetConversationAsync(id);
        Assert.Equal(1_600, conversation.Get<int>("turnCount"));
        Assert.Equal(1_601, conversation.Get<long>("version"));
    }

    [Fact]
    public async Task Given_writers_racing_with_the_same_if_match_When_they_post_Then_exactly_one_wins_per_version()
    {
        var id = ApiClient.NewId();
        await _api.AppendTurnAsync(id, "user", "start");
        var version = 2L;
        for (var round = 0; round < 5; round++)
        {
            var ifMatch = $"\"{version}\"";
            var replies = await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                using var api = fixture.Client();
                return await api.AppendAsync(id, new { role = "user", content = $"round {round} writer {w}" }, ifMatch);
            })));

            Assert.Single(replies, r => r.Status == HttpStatusCode.Created);
            Assert.Equal(7, replies.Count(r => r.Status == HttpStatusCode.Conflict));
            version++;
            Assert.Equal(version, replies.Single(r => r.Status == HttpStatusCode.Created).Get<long>("version"));
        }
        Assert.Equal(6, (await _api.GetConversationAsync(id)).Get<int>("turnCount"));
    }

    [Fact]
    public async Task Given_the_same_turn_posted_concurrently_When_they_race_Then_it_is_stored_once_and_all_get_the_same_result()
    {
        var id = ApiClient.NewId();
        var replies = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            using var api = fixture.Client();
            return await api.AppendTurnAsync(id, "user", "only once", "dup-1");
        })));

        Assert.All(replies, r => r.Expect(HttpStatusCode.Created));
        Assert.Single(replies.Select(r => r.Body["turns"]!.ToJsonString()).Distinct());
        Assert.Equal(1, (await _api.GetConversationAsync(id)).Get<int>("turnCount"));
    }
}
