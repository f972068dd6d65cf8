using ConversationService.Usage;
using Microsoft.Extensions.Options;

namespace ConversationService.Summaries;

/// <summary>
/// Which summarizer a request gets: the LLM when a key is configured and the tenant's daily budget allows,
/// otherwise the offline extractive one.
/// </summary>
public sealed class SummarizerRouter(
    IOptions<LlmOptions> options, IServiceProvider services, ExtractiveSummarizer offline, DailyBudget budget) : ISummarizer
{
    public async Task<SummaryResult> SummarizeAsync(SummaryRequest request, CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled || !await budget.AllowsAsync(request.Tenant, cancellationToken))
        {
            return await offline.SummarizeAsync(request, cancellationToken);
        }
        return await services.GetRequiredService<LlmSummarizer>().SummarizeAsync(request, cancellationToken);
    }
}
