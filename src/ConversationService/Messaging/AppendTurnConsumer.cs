using ConversationService.Contracts;
using ConversationService.Conversations;
using MassTransit;

namespace ConversationService.Messaging;

/// <summary>An AppendTurn that can never succeed (invalid, or conflicting with what is stored): not retried, stored nowhere.</summary>
public sealed class AppendTurnRejectedException(string message) : Exception(message);

/// <summary>
/// AppendTurn over RabbitMQ: the same validation, limits, idempotency by turn id, batches, expected version and
/// decision as POST /conversations/{id}/turns. The broker is a trusted internal boundary, so the message names its
/// tenant. A rejected command goes to the _error queue with the reason and stores nothing.
/// </summary>
public sealed class AppendTurnConsumer(TurnAppender appender, AppendTurnRules rules) : IConsumer<AppendTurn>
{
    public async Task Consume(ConsumeContext<AppendTurn> context)
    {
        var message = context.Message;
        var errors = rules.Validate(message).Errors;
        if (errors.Count > 0)
        {
            throw new AppendTurnRejectedException(string.Join(" ", errors.Select(e => $"{e.PropertyName}: {e.ErrorMessage}")));
        }
        // A redelivered command must find its own turns: ids are derived from the message id, never drawn at random,
        // and always given, so that a redelivery is recognized as the same turns (an append that looks them up).
        var isBatch = message.Turns is not null;
        var messageId = (context.MessageId ?? NewId.NextGuid()).ToString("N");
        var turns = AppendTurnRules.Inputs(message)
            .Select((t, i) => new NewTurn(t.Id ?? (isBatch ? $"msg-{messageId}-{i}" : $"msg-{messageId}"),
                t.Role!, t.Content!, t.Name, t.OccurredAt, t.Metadata))
            .ToArray();

        switch (await appender.AppendAsync(
                    message.Tenant, message.ConversationId, turns, [.. turns.Select(t => t.Id)], message.ExpectedVersion, isBatch,
                    context.CancellationToken))
        {
            case AppendResult.Appended:
                break; // stored, or already stored by an earlier delivery
            case AppendResult.NotFound:
                throw new AppendTurnRejectedException($"Conversation '{message.ConversationId}' was deleted.");
            case AppendResult.VersionConflict conflict:
                throw new AppendTurnRejectedException(
                    $"expectedVersion: the conversation is at version {conflict.Actual}, not {conflict.Expected}.");
            case AppendResult.TurnIdConflict conflict:
                throw new AppendTurnRejectedException(
                    $"Turn id '{conflict.TurnId}' is stored with a different role, content or name.");
            case var other:
                // Busy (other replicas kept writing the conversation): retried like a database hiccup.
                throw new InvalidOperationException($"The append could not be stored now ({other.GetType().Name}).");
        }
    }
}

/// <summary>Database hiccups retry; rejected commands go straight to the _error queue.</summary>
public sealed class AppendTurnConsumerDefinition : ConsumerDefinition<AppendTurnConsumer>
{
    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<AppendTurnConsumer> consumerConfigurator,
        IRegistrationContext context) =>
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Ignore<AppendTurnRejectedException>();
            retry.Intervals(200, 1_000, 5_000);
        });
}
