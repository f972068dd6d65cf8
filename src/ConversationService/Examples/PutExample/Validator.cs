using ConversationService.Hosting;

namespace ConversationService.Examples.PutExample;

public sealed class Validator : RequestValidator<Request>
{
    public Validator()
    {
        Include(new ExampleRequestValidator());
        RuleFor(r => r.Input).RequiredText(() => Limits);
        RuleFor(r => r.Output).RequiredText(() => Limits);
        RuleFor(r => r.Task).Identifier(ExampleRequestValidator.IdMessage);
    }
}
