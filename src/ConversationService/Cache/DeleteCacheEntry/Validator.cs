using ConversationService.Hosting;
using FluentValidation;

namespace ConversationService.Cache.DeleteCacheEntry;

public sealed class Validator : RequestValidator<Request>
{
    public Validator() =>
        RuleFor(r => r.Key).Must(CacheDecisions.IsKey).WithMessage("key is the 32 lower-case hex characters PUT /cache/entries returned.");
}
