using System.Net;
using ConversationService.Contracts;
using ConversationService.Tests.Infrastructure;
using ConversationService.Tests.Summaries;
using JasperFx.Events.Daemon;
using Marten;
using Microsoft.Extensions.DependencyInjection;

namespace ConversationService.Tests.Messaging;

/// <summary>A service whose broker is a RabbitMQ node of the test's own, which the test stops and starts.</summary>
public sealed class OutageFixture : MessagingFixture
{
    public RabbitMqNode Broker { get; private set; } = null!;

    // The broker is stopped on purpose: the bus's reconnects and the publisher's restarts (Marten's daemon pausing the
    // subscription that failed) are expected.
    protected override IReadOnlyDictionary<string, string?> Settings => ExpectedLogs.With(
        new Dictionary<string, string?>
        {
            ["ConnectionStrings:RabbitMq"] = Broker.Uri,
            ["Messaging:PublishTimeout"] = "00:00:02",
            // Summaries are due after a few turns, so one comes due while the broker is down.
            ["Summaries:RecentWindowTokens"] = "0",
            ["Summaries:ThresholdTokens"] = "100",
        },
        "MassTransit", "Marten");

    public override async Task InitializeAsync()
    {
        Broker = await RabbitMqNode.StartNewAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Broker.DisposeAsync();
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
    public async Task Given_RabbitMQ_stopped_during_a_run_When_it_is_started_again_Then_every_TurnAppended_arrives_in_order()
    {
        var id = ApiClient.NewId();
        // A durable queue, as a real subscriber has: it outlives the broker restart with its binding.
        await using var subscriber = await TestSubscriber.StartAsync(c => c == id, fixture.Broker.Uri, durable: true);
        using var api = fixture.Client();
        for (var i = 1; i <= 20; i++)
        {
            (await api.AppendTurnAsync(id, "user", $"before {i}")).Expect(HttpStatusCode.Created);
        }
        await subscriber.WaitForAsync<TurnAppended>(r => r.Count >= 20, TimeSpan.FromSeconds(30));

        await fixture.Broker.StopAsync();
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
            await fixture.Broker.StartAsync();
        }

        var received = await subscriber.WaitForAsync<TurnAppended>(
            r => r.Select(t => t.Index).Distinct().Count() >= 50, TimeSpan.FromSeconds(90));

        Assert.Equal(Enumerable.Range(1, 50), received.Select(t => t.Index).Distinct().Order());
        // At least once: a batch cut mid-way may be published again, but a first delivery is never out of order.
        Assert.Equal(Enumerable.Range(1, 50), received.Select(t => t.Index).Distinct());
        // An outage is retried, never taken for a bad event.
        Assert.Equal(0L, await DeadLettersAsync());
    }

    [Fact]
    public async Task Given_RabbitMQ_stopped_When_a_summary_comes_due_Then_it_is_requested_and_stored_once_the_broker_is_back()
    {
        var id = ApiClient.NewId();
        using var api = fixture.Client();
        (await api.AppendTurnAsync(id, "user", "Before the outage.")).Expect(HttpStatusCode.Created);

        await fixture.Broker.StopAsync();
        try
        {
            await SummaryProbe.PostTurnsAsync(api, id, 6);
            await Task.Delay(3_000);
            Assert.Empty(await SummaryProbe.SummariesAsync(fixture.ConnectionString, id));
        }
        finally
        {
            await fixture.Broker.StartAsync();
        }

        // The trigger's command could not be sent: its subscription restarts from its progress and sends it then.
        var summaries = await SummaryProbe.WaitForSummariesAsync(fixture.ConnectionString, id, 1, seconds: 90);
        Assert.NotEmpty(summaries);
        Assert.Equal(0L, await DeadLettersAsync());
    }

    private async Task<long> DeadLettersAsync()
    {
        await using var session = fixture.Factory.Services.GetRequiredService<IDocumentStore>().QuerySession();
        return await session.Query<DeadLetterEvent>().Where(d => d.AnyTenant()).LongCountAsync();
    }
}
