using ConversationService.Contracts;
using ConversationService.Conversations;
using ConversationService.Hosting;
using FluentValidation;

namespace ConversationService.Messaging;

/// <summary>
/// The rules of an <see cref="AppendTurn"/> command: those of POST /conversations/{id}/turns (one turn, or a batch of
/// at most Limits:MaxTurnsPerBatch with ids that do not repeat), each failure named by the message's field.
/// </summary>
public sealed class AppendTurnRules : AbstractValidator<AppendTurn>
{
    public AppendTurnRules(TurnRules turn, Func<LimitsOptions> limits)
    {
        RuleFor(m => m.Tenant)
            .Must(tenant => !string.IsNullOrWhiteSpace(tenant) && tenant.Length <= 128).WithMessage("Required, at most 128 characters.");
        RuleFor(m => m.ConversationId)
            .Must(id => id is not null && Identifiers.IsValid(id)).WithMessage($"A conversation id is {Identifiers.Rule}.");
        RuleFor(m => m.ExpectedVersion).GreaterThanOrEqualTo(0);
        When(m => m.Turns is null, () => RuleFor(m => m).Custom((message, context) =>
        {
            foreach (var failure in turn.Validate(Single(message)).Errors)
            {
                context.AddFailure(failure);
            }
        }));
        When(m => m.Turns is not null, () =>
        {
            RuleFor(m => m.Turns).Cascade(CascadeMode.Stop)
                .Must(turns => turns!.Count > 0).WithMessage("At least one turn is required.")
                .Must(turns => turns!.Count <= limits().MaxTurnsPerBatch)
                .WithMessage(_ => $"At most {limits().MaxTurnsPerBatch} turns per command (Limits:MaxTurnsPerBatch).")
                .Custom((turns, context) =>
                {
                    foreach (var (index, id, first) in TurnRules.RepeatedIds([.. turns!.Select(t => t?.TurnId)]))
                    {
                        context.AddFailure($"turns[{index}].turnId", $"Turn id '{id}' repeats turns[{first}].turnId.");
                    }
                });
            RuleFor(m => m.Turns)
                .Must((message, _) => (message.Role ?? message.Content ?? message.TurnId ?? message.Name) is null)
                .WithMessage("Send either the fields of one turn or turns, not both.");
            RuleForEach(m => m.Turns).Custom((item, context) =>
            {
                if (item is null)
                {
                    context.AddFailure("A turn has a role and content.");
                    return;
                }
                foreach (var failure in turn.Validate(Input(item)).Errors)
                {
                    context.AddFailure($"{context.PropertyPath}.{failure.PropertyName}", failure.ErrorMessage);
                }
            }).When(m => m.Turns!.Count <= limits().MaxTurnsPerBatch);
        });
    }

    /// <summary>The command's turns, as validated: its batch, or the one turn its own fields describe.</summary>
    public static IReadOnlyList<TurnInput> Inputs(AppendTurn message) =>
        message.Turns is { } turns ? [.. turns.Select(t => Input(t!))] : [Single(message)];

    private static TurnInput Single(AppendTurn m) => new(m.TurnId, m.Role, m.Content, m.Name, m.OccurredAt, m.Metadata);

    private static TurnInput Input(TurnToAppend t) => new(t.TurnId, t.Role, t.Content, t.Name, t.OccurredAt, t.Metadata);
}
