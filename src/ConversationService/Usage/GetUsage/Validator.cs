using ConversationService.Hosting;
using FluentValidation;

namespace ConversationService.Usage.GetUsage;

public sealed class Validator : RequestValidator<Request>
{
    public Validator()
    {
        RuleFor(r => r.GroupBy)
            .Must(Endpoint.GroupColumns.ContainsKey).WithMessage("groupBy is one of model, callType, conversation.");
        RuleFor(r => r).WithinRange(() => Resolve<TimeProvider>().GetUtcNow(), Request.MaxRange);
    }
}
