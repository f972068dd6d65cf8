using MassTransit;
using RabbitMQ.Client.Exceptions;

namespace ConversationService.Messaging;

/// <summary>
/// For subscriptions that publish or send: a failure is the broker's, never a reason to park an event, when it is one
/// of the transport's own exceptions or a publish that timed out (a broker that went away, or came back, mid-confirm
/// reports healthy before its first confirm), or whatever it is while the bus is not connected. Then a broker outage
/// only ever delays events. With the bus healthy, anything else (a message that cannot be serialized, say) is
/// isolated and parked.
/// </summary>
public static class BrokerFailures
{
    public static bool IsTransient(Exception exception, IBusControl bus) =>
        exception is ConnectionException or TransportException or TransportUnavailableException or RequestTimeoutException
            or RabbitMQClientException or TimeoutException or OperationCanceledException
        || bus.CheckHealth().Status != BusHealthStatus.Healthy;
}
