using System.Net;
using ConversationService.Contracts;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Messaging;

/// <summary>A service whose only way to the broker is a proxy the test can cut.</summary>
public sealed class OutageFixture : MessagingFixture
{
    public TcpProxy Proxy { get; } = new(new Uri(ServiceFixture.RabbitMq));

    protected override IReadOnlyDictionary<string, string?> Settings
    {
        get
        {
            var broker = new UriBuilder(ServiceFixture.RabbitMq) { Host = "127.0.0.1", Port = Proxy.Port };
            return new Dictionary<string, string?>
            {
                ["ConnectionStrings:RabbitMq"] = broker.Uri.ToString(),
                ["Messaging:PublishTimeout"] = "00:00:02",
            };
        }
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Proxy.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class OutageCollection : ICollectionFixture<OutageFixture>
{
    public const string Name = "broker-outage";
}

[Collection(OutageCollection.Name)]
public sealed class BrokerOutageTests(OutageFixture fixture)
{
    [Fact]
    public async Task Given_the_broker_unreachable_during_a_run_When_it_returns_Then_every_TurnAppended_arrives_in_order()
    {
        var id = ApiClient.NewId();
        await using var subscriber = await TestSubscriber.StartAsync(c => c == id);
        using var api = fixture.Client();
        for (var i = 1; i <= 20; i++)
        {
            (await api.AppendTurnAsync(id, "user", $"before {i}")).Expect(HttpStatusCode.Created);
        }
        await subscriber.WaitForAsync<TurnAppended>(r => r.Count >= 20, TimeSpan.FromSeconds(30));

        fixture.Proxy.Cut();
        try
        {
            // Appends do not wait for the broker.
            for (var i = 21; i <= 50; i++)
            {
                (await api.AppendTurnAsync(id, "user", $"during {i}")).Expect(HttpStatusCode.Created);
            }
            await Task.Delay(3_000);
            Assert.True(subscriber.Received.OfType<TurnAppended>().All(t => t.Index <= 20));
        }
        finally
        {
            fixture.Proxy.Restore();
        }

        var received = await subscriber.WaitForAsync<TurnAppended>(
            r => r.Select(t => t.Index).Distinct().Count() >= 50, TimeSpan.FromSeconds(90));

        Assert.Equal(Enumerable.Range(1, 50), received.Select(t => t.Index).Distinct().Order());
        // At least once: a batch cut mid-way may be published again, but a first delivery is never out of order.
        Assert.Equal(Enumerable.Range(1, 50), received.Select(t => t.Index).Distinct());
    }
}
