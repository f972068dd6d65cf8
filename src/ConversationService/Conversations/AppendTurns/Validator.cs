using ConversationService.Hosting;
using FluentValidation;

namespace ConversationService.Conversations.AppendTurns;

public sealed class Validator : RequestValidator<Request>
{
    public Validator()
    {
        Include(new ConversationRequestValidator());
        Include(new ConditionalRequestValidator());
        var turn = new TurnRules(() => Limits);
        When(r => r.Turns is null, () => Include(turn));
        When(r => r.Turns is not null, () =>
        {
            RuleFor(r => r.Turns).Cascade(CascadeMode.Stop)
                .Must(turns => turns!.Count > 0).WithMessage("At least one turn is required.")
                .Must(turns => turns!.Count <= Limits.MaxTurnsPerBatch)
                .WithMessage(_ => $"At most {Limits.MaxTurnsPerBatch} turns per request (Limits:MaxTurnsPerBatch).")
                .Custom(RejectRepeatedIds);
            RuleFor(r => r.Turns)
                .Must((request, _) => (request.Role ?? request.Content ?? request.TurnId ?? request.Name) is null)
                .WithMessage("Send either the fields of one turn or {\"turns\": [...]}, not both.");
            RuleForEach(r => r.Turns)
                .NotNull().WithMessage("A turn is an object with role and content.")
                .SetValidator(turn)
                .When(r => r.Turns!.Count <= Limits.MaxTurnsPerBatch);
        });
    }

    private static void RejectRepeatedIds(List<TurnInput>? turns, ValidationContext<Request> context)
    {
        foreach (var (index, id, first) in TurnRules.RepeatedIds([.. turns!.Select(t => t?.Id)]))
        {
            context.AddFailure($"turns[{index}].id", $"Turn id '{id}' repeats turns[{first}].id.");
        }
    }
}
