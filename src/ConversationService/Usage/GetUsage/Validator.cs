using ConversationService.Hosting;
using FluentValidation;

namespace ConversationService.Usage.GetUsage;

public sealed class Validator : RequestValidator<Request>
{
    public Validator()
    {
        RuleFor(r => r.GroupBy)
            .Must(Endpoint.GroupColumns.ContainsKey).WithMessage("groupBy is one of model, callType, conversation.");
        RuleFor(r => r).Custom((request, context) =>
        {
            var (start, end) = request.Range(Resolve<TimeProvider>().GetUtcNow());
            if (start >= end || end - start > Request.MaxRange)
            {
                context.AddFailure(request.From is null ? "to" : "from", "from must be before to, at most 366 days apart.");
            }
        });
    }
}
