using System.Reflection;
using ConversationService.Conversations;
using ConversationService.Messaging;
using ConversationService.Summaries;
using ConversationService.Tests.Infrastructure;
using JasperFx.Events.Projections;
using MassTransit;
using Microsoft.Extensions.Options;

namespace ConversationService.Tests.Summaries;

/// <summary>The trigger runs in Marten's daemon: whatever the broker does, it must not hold the shard for ever.</summary>
[Collection(ServiceCollection.Name)]
public sealed class SummaryTriggerTests(ServiceFixture fixture)
{
    [Fact]
    public async Task Given_a_broker_that_accepts_but_never_confirms_When_a_summary_comes_due_Then_the_page_fails_as_a_broker_timeout()
    {
        var trigger = new SummaryTrigger(
            NeverConfirmingBus.Create(), new KebabCaseEndpointNameFormatter(false),
            Options.Create(new SummariesOptions { RecentWindowTokens = 0, ThresholdTokens = 1 }),
            Options.Create(new MessagingOptions { PublishTimeout = TimeSpan.FromMilliseconds(500) }), TimeProvider.System);
        var conversation = ApiClient.NewId();
        var page = new EventRange(new ShardName("summary_trigger"), 2) { Events = [Turn(conversation, 1), Turn(conversation, 2)] };
        await using var session = fixture.Store().LightweightSession("tenant-a");

        var processing = trigger.ProcessEventsAsync(page, null!, session, CancellationToken.None);
        await Record.ExceptionAsync(() => processing.WaitAsync(TimeSpan.FromSeconds(30)));

        // A timeout, which the daemon takes for a failure (it pauses and restarts from its progress), not a
        // cancellation, which it would take for its own shutdown.
        Assert.True(processing.IsFaulted, "The trigger still waits for the broker's confirm.");
        Assert.IsType<TimeoutException>(processing.Exception!.InnerException);
    }

    private static JasperFx.Events.Event<TurnAppended> Turn(string conversation, int index) => new(
        new TurnAppended($"t-{index}", index, "user", "Hello.", null, DateTimeOffset.UtcNow, 100, "o200k_base", null))
    {
        Sequence = index,
        Version = index,
        TenantId = "tenant-a",
        StreamKey = conversation,
    };
}

/// <summary>A bus whose sends are accepted and never confirmed: every call of a send endpoint stays pending.</summary>
public class NeverConfirmingBus : DispatchProxy
{
    public static IBus Create() => DispatchProxy.Create<IBus, NeverConfirmingBus>();

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
    {
        nameof(IBus.GetSendEndpoint) => Task.FromResult(DispatchProxy.Create<ISendEndpoint, PendingSends>()),
        _ => throw new NotSupportedException(targetMethod?.Name),
    };

    public class PendingSends : DispatchProxy
    {
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod?.ReturnType == typeof(Task)
                ? new TaskCompletionSource().Task
                : throw new NotSupportedException(targetMethod?.Name);
    }
}
