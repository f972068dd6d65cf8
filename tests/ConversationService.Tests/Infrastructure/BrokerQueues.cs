using MassTransit;
using RabbitMQ.Client;

namespace ConversationService.Tests.Infrastructure;

/// <summary>
/// Removes the durable queues and exchanges a test host declared under its endpoint prefix, so test runs do not
/// leave hundreds of idle queues on the machine's broker.
/// </summary>
public static class BrokerQueues
{
    private static readonly string[] Suffixes = ["", "_error", "_skipped"];

    public static async Task DeleteAsync(string rabbitMq, IEnumerable<string> endpointPrefixes)
    {
        var names = endpointPrefixes.Distinct().SelectMany(EndpointNames).ToList();
        if (names.Count == 0)
        {
            return;
        }
        try
        {
            await using var connection = await new ConnectionFactory { Uri = new Uri(rabbitMq) }.CreateConnectionAsync();
            await using var channel = await connection.CreateChannelAsync();
            foreach (var name in names)
            {
                // Both are no-ops for a name that was never declared.
                await channel.QueueDeleteAsync(name, ifUnused: false, ifEmpty: false);
                await channel.ExchangeDeleteAsync(name, ifUnused: false);
            }
        }
        catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException)
        {
            // A test that stopped its broker has nothing left to clean there.
        }
    }

    /// <summary>Every queue name the service's consumers get under a prefix, with MassTransit's error/skipped queues.</summary>
    private static IEnumerable<string> EndpointNames(string prefix)
    {
        var formatter = new KebabCaseEndpointNameFormatter(prefix, false);
        var consumerName = typeof(IEndpointNameFormatter).GetMethod(nameof(IEndpointNameFormatter.Consumer))!;
        return typeof(Program).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && t.IsAssignableTo(typeof(IConsumer)))
            .Select(t => (string)consumerName.MakeGenericMethod(t).Invoke(formatter, null)!)
            .SelectMany(name => Suffixes.Select(suffix => name + suffix));
    }
}
