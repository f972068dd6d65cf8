using ConversationService.Hosting;
using FastEndpoints;
using FluentValidation;

namespace ConversationService.Examples.ListExamples;

public sealed class Validator : Validator<Request>
{
    public Validator()
    {
        RuleFor(r => r.Task).Identifier(ExampleRequestValidator.IdMessage);
        RuleFor(r => r.After).Identifier($"after is an example id: {Identifiers.Rule}.");
        RuleFor(r => r.Limit).Must(limit => limit is null or >= 1 and <= Request.MaxLimit)
            .WithMessage($"limit is between 1 and {Request.MaxLimit}.");
    }
}
