using ConversationService.Hosting;
using FluentValidation;

namespace ConversationService.Conversations.PutConversation;

public sealed class Validator : RequestValidator<Request>
{
    public Validator()
    {
        Include(new ConversationRequestValidator());
        Include(new ConditionalRequestValidator());
        RuleFor(r => r.Model).KnownModel(Resolve<ModelTokenizers>);
        RuleFor(r => r.SystemPrompt).Cascade(CascadeMode.Stop)
            .WithinBytes(() => Limits.MaxContentBytes)
            .Must(prompt => !ValidationRules.HasNul(prompt)).WithMessage(ValidationRules.NulMessage);
        RuleFor(r => r.Metadata).Metadata(() => Limits);
    }
}
