namespace ConversationService.Messaging;

/// <summary>
/// Bounds what a subscription of the daemon publishes or sends by <see cref="MessagingOptions.PublishTimeout"/>: a
/// broker that went away mid-confirm, or accepts the connection but never confirms, would otherwise hold the shard for
/// ever. Past the timeout it fails with a <see cref="TimeoutException"/>, a failure of the broker
/// (<see cref="BrokerFailures"/>): Marten's daemon pauses the subscription and restarts it from its progress. Not a
/// cancellation: the daemon takes one for its own shutdown and drops the page without pausing the subscription, which
/// would then wait for ever instead of restarting.
/// </summary>
public static class BrokerTimeout
{
    public static async Task RunAsync(Func<CancellationToken, Task> send, TimeSpan timeout, CancellationToken ct)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(timeout);
        try
        {
            // WaitAsync: a send caught in a dropped connection, or one that ignores its token, must not outlive it.
            await send(bounded.Token).WaitAsync(bounded.Token);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"RabbitMQ did not confirm within {timeout}.", e);
        }
    }
}
