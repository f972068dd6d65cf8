using ConversationService.Hosting;
using FluentValidation;

namespace ConversationService.Cache.LookupCache;

public sealed class Validator : RequestValidator<Request>
{
    public Validator()
    {
        Include(new CacheRequestValidator());
        RuleFor(r => r.MinSimilarity).InclusiveBetween(0, 1).WithMessage("minSimilarity is between 0 and 1.");
    }
}
