using System.Text;
using ConversationService.Tests.Infrastructure;
using RabbitMQ.Client;

namespace ConversationService.Tests.Messaging;

/// <summary>Reads MassTransit's _error queues the way an operator would.</summary>
public static class ErrorQueue
{
    /// <summary>The faulted message for the conversation, with MassTransit's fault headers, or null.</summary>
    public static async Task<string?> WaitForFaultAsync(string queue, string conversationId)
    {
        var factory = new ConnectionFactory { Uri = new Uri(ServiceFixture.RabbitMq) };
        await using var connection = await factory.CreateConnectionAsync();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            // A get on a queue that does not exist yet closes the channel, so each poll has its own.
            await using var channel = await connection.CreateChannelAsync();
            try
            {
                while (await channel.BasicGetAsync(queue, autoAck: false) is { } message)
                {
                    if (Encoding.UTF8.GetString(message.Body.Span).Contains(conversationId, StringComparison.Ordinal))
                    {
                        await channel.BasicAckAsync(message.DeliveryTag, false);
                        var headers = message.BasicProperties.Headers ?? new Dictionary<string, object?>();
                        return string.Join("\n", headers.Select(h => $"{h.Key}={(h.Value is byte[] b ? Encoding.UTF8.GetString(b) : h.Value)}"));
                    }
                }
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                // not declared yet: nothing has faulted so far
            }
            await Task.Delay(200);
        }
        return null;
    }

}
