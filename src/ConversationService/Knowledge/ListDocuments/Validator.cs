using ConversationService.Hosting;
using FastEndpoints;
using FluentValidation;

namespace ConversationService.Knowledge.ListDocuments;

public sealed class Validator : Validator<Request>
{
    public Validator()
    {
        Include(new CollectionRequestValidator());
        RuleFor(r => r.After).Identifier($"after is a document id: {Identifiers.Rule}.");
        RuleFor(r => r.Limit).Must(limit => limit is null or >= 1 and <= Request.MaxLimit)
            .WithMessage($"limit is between 1 and {Request.MaxLimit}.");
    }
}
