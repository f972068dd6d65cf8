using ConversationService.Hosting;
using ConversationService.Usage;

namespace ConversationService.Dashboard.GetDashboardData;

public sealed class Validator : RequestValidator<Request>
{
    public Validator() => RuleFor(r => r).WithinRange(() => Resolve<TimeProvider>().GetUtcNow(), Request.MaxRange);
}
