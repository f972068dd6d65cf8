using System.Globalization;
using ConversationService.Storage;
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
/// <summary>
/// A tenant's LLM spending for <see cref="Day"/> reached <see cref="Share"/> (0.8 or 1.0) of its daily budget.
/// Stored once per tenant, day and share, in a stream of its own ("budget/{day}/{percent}").
/// </summary>
public sealed record DailyBudgetReached(DateOnly Day, decimal Share, decimal SpentUsd, decimal BudgetUsd, DateTimeOffset At);

public sealed class DailyBudget(
    IOptions<LlmOptions> options, LlmCallLog log, GroupCommit commits, UsageMetrics metrics, TimeProvider time,
    ILogger<DailyBudget> logger)
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
        metrics.BudgetUsed(tenant, spent, budget);
        var state = Decide(spent, budget);
        if (state != BudgetState.Within)
        {
            await RecordReachedAsync(tenant, DateOnly.FromDateTime(now.UtcDateTime), state, spent, budget, ct);
        }
        return state != BudgetState.Exhausted;
    }

    /// <summary>The first time a level is reached on a day: log it and store the fact.</summary>
    private async Task RecordReachedAsync(
        string tenant, DateOnly day, BudgetState state, decimal spent, decimal budget, CancellationToken ct)
    {
        var share = state == BudgetState.Exhausted ? 1m : WarningShare;
        // '/' never occurs in a conversation id, so these streams cannot collide with conversations.
        var streamId = string.Create(CultureInfo.InvariantCulture, $"budget/{day:yyyy-MM-dd}/{share * 100:0}");
        // Only a new stream takes the fact: one record per level and day, whichever call reached it first.
        if (!await commits.AppendAsync(
                new StreamAppend(tenant, streamId, 0, [new DailyBudgetReached(day, share, spent, budget, time.GetUtcNow())]), ct))
        {
            return; // already recorded today
        }
        if (state == BudgetState.Exhausted)
        {
            logger.LogWarning("Tenant {Tenant} reached its daily LLM budget ({Spent:0.####} of {Budget} USD); summaries are offline until the next UTC day",
                tenant, spent, budget);
        }
        else
        {
            logger.LogWarning("Tenant {Tenant} used {Spent:0.####} of its daily LLM budget of {Budget} USD", tenant, spent, budget);
        }
    }
}
