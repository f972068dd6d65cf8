using ConversationService.Contracts;
using ConversationService.Conversations;
using ConversationService.Hosting;
using MassTransit;

namespace ConversationService.Messaging;

/// <summary>An AppendTurn that can never succeed (invalid, or conflicting with what is stored): not retried, stored nowhere.</summary>
public sealed class AppendTurnRejectedException(string message) : Exception(message);

/// <summary>
/// AppendTurn over RabbitMQ: the same validation, limits, idempotency by turn id and decision as
/// POST /conversations/{id}/turns. The broker is a trusted internal boundary, so the message names its tenant.
/// A rejected command goes to the _error queue with the reason and stores nothing.
/// </summary>
public sealed class AppendTurnConsumer(TurnAppender appender, TurnRules rules) : IConsumer<AppendTurn>
{
    public async Task Consume(ConsumeContext<AppendTurn> context)
    {
        var message = context.Message;
        var ct = context.CancellationToken;
        if (string.IsNullOrWhiteSpace(message.Tenant) || message.Tenant.Length > 128)
        {
            throw new AppendTurnRejectedException("tenant: required, at most 128 characters.");
        }
        if (message.ConversationId is null || !Identifiers.IsValid(message.ConversationId))
        {
            throw new AppendTurnRejectedException("conversationId: 1-128 characters of A-Z a-z 0-9 . _ : -");
        }
        var input = new TurnInput(message.TurnId, message.Role, message.Content, message.Name, message.OccurredAt, message.Metadata);
        var errors = rules.Validate(input).Errors;
        if (errors.Count > 0)
        {
            throw new AppendTurnRejectedException(string.Join(" ", errors.Select(e => $"{e.PropertyName}: {e.ErrorMessage}")));
        }
        // A redelivered command must find its own turn: ids are generated from the message id, never at random.
        var turn = new NewTurn(
            message.TurnId ?? $"msg-{context.MessageId ?? NewId.NextGuid():N}", message.Role, message.Content, message.Name,
            message.OccurredAt, message.Metadata);

        // The turn id is always given, so a redelivery is recognized as the same turn (an append that looks it up).
        switch (await appender.AppendAsync(message.Tenant, message.ConversationId, [turn], [turn.Id], null, false, ct))
        {
            case AppendResult.Appended:
                break; // stored, or already stored by an earlier delivery
            case AppendResult.NotFound:
                throw new AppendTurnRejectedException($"Conversation '{message.ConversationId}' was deleted.");
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
