using Microsoft.Extensions.Options;

namespace ConversationService.Usage;

public enum BudgetState
{
    Within,
    Warning,
    Exhausted,
}

/// <summary>
/// The per-tenant daily LLM budget (<c>Llm:DailyBudgetUsd</c>, UTC days): a warning at 80%, offline at 100% until
/// the next UTC day.
/// </summary>
public sealed class DailyBudget(IOptions<LlmOptions> options, LlmCallLog log, TimeProvider time, ILogger<DailyBudget> logger)
{
    public const decimal WarningShare = 0.8m;

    public static BudgetState Decide(decimal spentToday, decimal dailyBudget) =>
        dailyBudget <= 0 ? BudgetState.Within
        : spentToday >= dailyBudget ? BudgetState.Exhausted
        : spentToday >= dailyBudget * WarningShare ? BudgetState.Warning
        : BudgetState.Within;

    public async Task<bool> AllowsAsync(string tenant, CancellationToken ct)
    {
        var budget = options.Value.DailyBudgetUsd;
        if (budget <= 0)
        {
            return true;
        }
        var now = time.GetUtcNow();
        var spent = await log.SpentSinceAsync(tenant, new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero), ct);
        switch (Decide(spent, budget))
        {
            case BudgetState.Exhausted:
                logger.LogWarning("Tenant {Tenant} reached its daily LLM budget ({Spent:0.####} of {Budget} USD); summaries are offline until the next UTC day",
                    tenant, spent, budget);
                return false;
            case BudgetState.Warning:
                logger.LogWarning("Tenant {Tenant} used {Spent:0.####} of its daily LLM budget of {Budget} USD", tenant, spent, budget);
                return true;
            default:
                return true;
        }
    }
}
