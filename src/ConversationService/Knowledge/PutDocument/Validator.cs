using ConversationService.Hosting;

namespace ConversationService.Knowledge.PutDocument;

public sealed class Validator : RequestValidator<Request>
{
    public Validator()
    {
        Include(new DocumentRequestValidator());
        RuleFor(r => r.Text).RequiredText(() => Limits);
        RuleFor(r => r.Metadata).Metadata(() => Limits);
    }
}
