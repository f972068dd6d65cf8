using System.Net;
using ConversationService.Contracts;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Messaging;

[Collection(MessagingCollection.Name)]
public sealed class IntegrationEventsTests(MessagingFixture fixture)
{
    [Fact]
    public async Task Given_a_subscriber_When_turns_are_posted_over_http_Then_it_receives_a_TurnAppended_for_every_turn_in_order()
    {
        var conversations = new[] { ApiClient.NewId(), ApiClient.NewId() };
        await using var subscriber = await TestSubscriber.StartAsync(conversations.Contains);
        using var api = fixture.Client();

        // Two conversations interleaved, single turns and a batch: order must hold per conversation.
        for (var i = 0; i < 10; i++)
        {
            foreach (var id in conversations)
            {
                (await api.AppendTurnAsync(id, i % 2 == 0 ? "user" : "assistant", $"turn {i} of {id}")).Expect(HttpStatusCode.Created);
            }
        }
        var batch = Enumerable.Range(10, 20).Select(i => new { role = "user", content = $"batched {i}" }).ToArray();
        (await api.AppendAsync(conversations[0], new { turns = batch })).Expect(HttpStatusCode.Created);

        var received = await subscriber.WaitForAsync<TurnAppended>(r => r.Count >= 40, TimeSpan.FromSeconds(30));

        var first = received.Where(t => t.ConversationId == conversations[0]).Select(t => t.Index).ToList();
        var second = received.Where(t => t.ConversationId == conversations[1]).Select(t => t.Index).ToList();
        Assert.Equal(Enumerable.Range(1, 30), first);
        Assert.Equal(Enumerable.Range(1, 10), second);
        var last = received.Single(t => t.ConversationId == conversations[0] && t.Index == 30);
        Assert.Equal("batched 29", last.Content);
        Assert.Equal("tenant-a", last.Tenant);
        Assert.True(last.Tokens > 0);
    }

    [Fact]
    public async Task Given_a_subscriber_When_a_conversation_is_deleted_Then_it_receives_ConversationDeleted_after_the_turns()
    {
        var id = ApiClient.NewId();
        await using var subscriber = await TestSubscriber.StartAsync(c => c == id);
        using var api = fixture.Client();
        (await api.AppendTurnAsync(id, "user", "hello")).Expect(HttpStatusCode.Created);

        (await api.DeleteConversationAsync(id)).Expect(HttpStatusCode.NoContent);

        var received = await subscriber.WaitForAsync<IConversationEvent>(
            r => r.OfType<ConversationDeleted>().Any(), TimeSpan.FromSeconds(30));
        Assert.IsType<TurnAppended>(received[0]);
        var deleted = Assert.IsType<ConversationDeleted>(received[^1]);
        Assert.True(deleted.Version > received[0].Version);
    }
}
