using System.Net;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Hostile;

/// <summary>
/// Concurrent appends share commits (group commit). A bad append among them gets its own 4xx; every valid one is
/// stored exactly once and answered 201.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class NeighbourTests(ServiceFixture fixture)
{
    private const string Poison = """{"a":"\ud800"}""";

    [Fact]
    public async Task Given_24_concurrent_appends_to_one_conversation_When_4_carry_a_lone_surrogate_Then_the_20_valid_are_stored_once_each()
    {
        using var api = fixture.Client();
        var id = ApiClient.NewId();
        await api.AppendTurnAsync(id, "user", "first", "t-0");

        var replies = await Task.WhenAll(Enumerable.Range(1, 24).Select(i => api.SendRawAsync(
            HttpMethod.Post, $"/conversations/{id}/turns",
            $$"""{"id":"t-{{i}}","role":"user","content":"turn {{i}}","metadata":{{(i % 6 == 0 ? Poison : """{"k":"v"}""")}}}""")));

        for (var i = 1; i <= 24; i++)
        {
            if (i % 6 == 0)
            {
                replies[i - 1].ExpectFieldError("metadata");
            }
            else
            {
                replies[i - 1].Expect(HttpStatusCode.Created);
            }
        }
        var stored = await fixture.StoredTurnIdsAsync(id);
        Assert.Equal(21, stored.Count);
        Assert.Equal(21, stored.Distinct().Count());
        Assert.DoesNotContain(stored, t => t is "t-6" or "t-12" or "t-18" or "t-24");
    }

    [Fact]
    public async Task Given_concurrent_appends_to_many_conversations_When_some_are_bad_Then_only_those_fail_and_the_rest_are_stored_once()
    {
        using var api = fixture.Client();
        var ids = Enumerable.Range(0, 40).Select(_ => ApiClient.NewId()).ToArray();
        // An append on this replica leaves the conversation's state known, so the next ones go through the group commit.
        foreach (var id in ids)
        {
            await api.AppendTurnAsync(id, "user", "first", "t-0");
        }

        var replies = await Task.WhenAll(ids.Select((id, i) => api.SendRawAsync(
            HttpMethod.Post, $"/conversations/{id}/turns",
            $$"""{"id":"t-1","role":"user","content":"second","metadata":{{(i % 5 == 0 ? Poison : "null")}}}""")));

        for (var i = 0; i < ids.Length; i++)
        {
            if (i % 5 == 0)
            {
                replies[i].ExpectFieldError("metadata");
                Assert.Equal(["t-0"], await fixture.StoredTurnIdsAsync(ids[i]));
            }
            else
            {
                replies[i].Expect(HttpStatusCode.Created);
                Assert.Equal(["t-0", "t-1"], await fixture.StoredTurnIdsAsync(ids[i]));
            }
        }
    }
}
