using ConversationService.Hosting;
using FluentValidation;

namespace ConversationService.Tokenize;

public sealed class Validator : RequestValidator<Request>
{
    public Validator()
    {
        RuleFor(r => r.Model).Cascade(CascadeMode.Stop)
            .NotEmpty().WithMessage($"model is required. Supported: {ModelTokenizers.SupportedModels}")
            .KnownModel(Resolve<ModelTokenizers>);
        RuleFor(r => r.Text)
            .Must((request, text) => (text is null) != (request.Messages is null)).WithMessage("Send either text or messages.")
            .WithinBytes(() => Limits.MaxContentBytes);
        RuleFor(r => r.Messages)
            .Must(messages => messages is null || messages.Count <= Limits.MaxTurnsPerBatch)
            .WithMessage(_ => $"At most {Limits.MaxTurnsPerBatch} messages (Limits:MaxTurnsPerBatch).");
        RuleForEach(r => r.Messages)
            .NotNull().WithMessage("A message is an object with role and content.")
            .ChildRules(message =>
            {
                message.RuleFor(m => m!.Role)
                    .Must(role => role is { Length: >= 1 and <= Identifiers.MaxNameLength })
                    .WithMessage($"role is required, at most {Identifiers.MaxNameLength} characters.");
                message.RuleFor(m => m!.Name)
                    .MaximumLength(Identifiers.MaxNameLength)
                    .WithMessage($"name is at most {Identifiers.MaxNameLength} characters.");
                message.RuleFor(m => m!.Content).Cascade(CascadeMode.Stop)
                    .NotNull().WithMessage("content is required.")
                    .WithinBytes(() => Limits.MaxContentBytes);
            });
    }
}
