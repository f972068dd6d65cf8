using FastEndpoints;
using FluentValidation;

namespace ConversationService.Conversations.GetTurns;

public sealed class Validator : Validator<Request>
{
    public Validator()
    {
        Include(new ConversationRequestValidator());
        RuleFor(r => r.After).Must(after => after is null or >= 0).WithMessage("after is a turn index >= 0.");
        RuleFor(r => r.Limit).Must(limit => limit is null or >= 1 and <= Request.MaxLimit)
            .WithMessage($"limit is between 1 and {Request.MaxLimit}.");
    }
}
