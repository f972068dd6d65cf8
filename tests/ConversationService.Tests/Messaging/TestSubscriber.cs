using System.Collections.Concurrent;
using ConversationService.Contracts;
using ConversationService.Tests.Infrastructure;
using MassTransit;

namespace ConversationService.Tests.Messaging;

/// <summary>
/// A subscriber as another team would write one: its own bus, its own queue bound to the contract exchanges
/// (auto-deleted unless durable). It keeps only the events of the conversations a test is interested in, and every
/// budget alert.
/// </summary>
public sealed class TestSubscriber : IAsyncDisposable
{
    private readonly IBusControl _bus;
    private readonly ConcurrentQueue<IConversationEvent> _received = new();
    private readonly ConcurrentQueue<DailyBudgetReached> _alerts = new();

    private TestSubscriber(Func<string, bool> wanted, string rabbitMq, bool durable)
    {
        _bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(new Uri(rabbitMq));
            rabbit.ReceiveEndpoint($"test-subscriber-{Guid.NewGuid():N}", endpoint =>
            {
                endpoint.AutoDelete = !durable;
                endpoint.Durable = durable;
                // One at a time, so the order of arrival is the order on the queue.
                endpoint.ConcurrentMessageLimit = 1;
                endpoint.PrefetchCount = 64;
                endpoint.Handler<TurnAppended>(context => Keep(context.Message));
                endpoint.Handler<ConversationSummarized>(context => Keep(context.Message));
                endpoint.Handler<ConversationDeleted>(context => Keep(context.Message));
                endpoint.Handler<DailyBudgetReached>(context =>
                {
                    _alerts.Enqueue(context.Message);
                    return Task.CompletedTask;
                });
            });
        });

        Task Keep(IConversationEvent message)
        {
            if (wanted(message.ConversationId))
            {
                _received.Enqueue(message);
            }
            return Task.CompletedTask;
        }
    }

    public IReadOnlyList<IConversationEvent> Received => [.. _received];

    public IReadOnlyList<DailyBudgetReached> Alerts => [.. _alerts];

    public static async Task<TestSubscriber> StartAsync(
        Func<string, bool> wanted, string? rabbitMq = null, bool durable = false)
    {
        var subscriber = new TestSubscriber(wanted, rabbitMq ?? ServiceFixture.RabbitMq, durable);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await subscriber._bus.StartAsync(timeout.Token);
        return subscriber;
    }

    public async Task<IReadOnlyList<T>> WaitForAsync<T>(Func<IReadOnlyList<T>, bool> done, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var matching = Received.OfType<T>().ToList();
            if (done(matching) || DateTime.UtcNow > deadline)
            {
                return matching;
            }
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync() => await _bus.StopAsync();
}
