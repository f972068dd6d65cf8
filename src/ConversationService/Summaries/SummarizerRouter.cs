using ConversationService.Usage;
using Microsoft.Extensions.Options;

namespace ConversationService.Summaries;

/// <summary>
/// Which summarizer a request gets: without a key, or once the tenant's daily budget is spent, the offline
/// extractive one; from 80% of the budget only the cheapest tier; otherwise every tier, cheapest first. When every
/// tier fails, the extractive summary stands in, marked provisional, and a real one replaces it later
/// (<see cref="ProvisionalSummaries"/>).
/// </summary>
public sealed class SummarizerRouter(
    IOptions<LlmOptions> options, IServiceProvider services, ExtractiveSummarizer offline, DailyBudget budget,
    ILogger<SummarizerRouter> logger) : ISummarizer
{
    public async Task<SummaryResult> SummarizeAsync(SummaryRequest request, CancellationToken cancellationToken)
    {
        var state = options.Value.Enabled ? await budget.CheckAsync(request.Tenant, cancellationToken) : BudgetState.Exhausted;
        if (state == BudgetState.Exhausted)
        {
            return await offline.SummarizeAsync(request, cancellationToken);
        }
        var tiers = options.Value.Tiers;
        try
        {
            return await services.GetRequiredService<LlmSummarizer>().SummarizeAsync(
                request, state == BudgetState.Warning ? [tiers[0]] : tiers, cancellationToken);
        }
        catch (LlmUnavailableException e)
        {
            logger.LogWarning("Every summary tier failed ({Error}); an extractive summary stands in until a real one replaces it",
                e.Message);
            return await offline.SummarizeAsync(request, cancellationToken) with { Provisional = true };
        }
    }
}
