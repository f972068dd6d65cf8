using ConversationService.Hosting;
using FluentValidation;

namespace ConversationService.Cache.PutCacheEntry;

public sealed class Validator : RequestValidator<Request>
{
    public Validator()
    {
        Include(new CacheRequestValidator());
        RuleFor(r => r.Response).RequiredText(() => Limits);
        RuleFor(r => r.TtlSeconds)
            .InclusiveBetween((int)CacheOptions.MinTtl.TotalSeconds, (int)CacheOptions.MaxTtl.TotalSeconds)
            .WithMessage($"ttlSeconds is between {CacheOptions.MinTtl.TotalSeconds} (1 minute) and {CacheOptions.MaxTtl.TotalSeconds} (30 days).");
        RuleFor(r => r.Metadata).Metadata(() => Limits);
    }
}
