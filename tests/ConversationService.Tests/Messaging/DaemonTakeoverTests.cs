using System.Net;
using ConversationService.Contracts;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Messaging;

/// <summary>A service whose own host leaves Marten's daemon to the replicas a test starts (and stops).</summary>
public sealed class TakeoverFixture : MessagingFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["EventStore:RunDaemon"] = "false",
    };
}

[CollectionDefinition(Name)]
public sealed class TakeoverCollection : ICollectionFixture<TakeoverFixture>
{
    public const string Name = "daemon-takeover";
}

/// <summary>
/// One replica runs each of Marten's subscriptions (a lock per shard); the others stand by and take over when it goes,
/// from its last progress, so the integration events go on without a gap and in order.
/// </summary>
[Collection(TakeoverCollection.Name)]
public sealed class DaemonTakeoverTests(TakeoverFixture fixture)
{
    [Fact]
    public async Task Given_two_replicas_running_the_daemon_When_the_one_publishing_stops_Then_the_other_publishes_every_later_event_in_order()
    {
        var id = ApiClient.NewId();
        await using var subscriber = await TestSubscriber.StartAsync(c => c == id);
        var daemon = new Dictionary<string, string?> { ["EventStore:RunDaemon"] = "true" };
        var first = fixture.CreateFactory(daemon);
        using (var api = fixture.Client(first))
        {
            (await api.AppendTurnAsync(id, "user", "turn 1")).Expect(HttpStatusCode.Created);
        }
        // Published while it is the only replica running the daemon: it holds the subscription.
        Assert.Single(await subscriber.WaitForAsync<TurnAppended>(r => r.Count >= 1, TimeSpan.FromSeconds(30)));
        await using var second = fixture.CreateFactory(daemon);
        using var standby = fixture.Client(second);
        for (var i = 2; i <= 10; i++)
        {
            (await standby.AppendTurnAsync(id, "user", $"turn {i}")).Expect(HttpStatusCode.Created);
        }
        var before = await subscriber.WaitForAsync<TurnAppended>(r => r.Count >= 10, TimeSpan.FromSeconds(30));
        // One replica holds the subscription: while both run, each event is published once.
        Assert.Equal(Enumerable.Range(1, 10), before.Select(t => t.Index));

        await first.DisposeAsync();
        for (var i = 11; i <= 20; i++)
        {
            (await standby.AppendTurnAsync(id, "user", $"turn {i}")).Expect(HttpStatusCode.Created);
        }

        var received = await subscriber.WaitForAsync<TurnAppended>(
            r => r.Select(t => t.Index).Distinct().Count() >= 20, TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(1, 20), received.Select(t => t.Index).Distinct());
    }
}
