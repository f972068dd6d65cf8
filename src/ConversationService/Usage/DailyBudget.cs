using System.Collections.Concurrent;
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
/// A tenant's LLM spending for <see cref="Day"/> reached <see cref="Share"/> (0.8 or 1.0) of its daily budget.
/// Stored once per tenant, day and share, in a stream of its own ("budget/{day}/{percent}"), and published as the
/// integration event of the same name.
/// </summary>
public sealed record DailyBudgetReached(DateOnly Day, decimal Share, decimal SpentUsd, decimal BudgetUsd, DateTimeOffset At);

/// <summary>
/// The per-tenant daily LLM budget (<c>Llm:DailyBudgetUsd</c>, UTC days) over every paid call: summaries and a
/// provider's embeddings. From 80% summaries use the cheapest tier only; at 100% no paid calls for the tenant until the
/// next UTC day (summaries are extractive, texts stay without a provider vector). Each level reached is stored once per
/// tenant and day, whichever replica saw it first: the stream of the fact can be created only once, across restarts
/// and replicas.
/// </summary>
public sealed class DailyBudget(
    IOptions<LlmOptions> options, LlmCallLog log, GroupCommit commits, UsageMetrics metrics, TimeProvider time,
    ILogger<DailyBudget> logger)
{
    public const decimal WarningShare = 0.8m;

    private static readonly decimal[] Shares = [WarningShare, 1m];

    // The levels this replica knows to be stored, so a check past 80% does not try to store them again each call.
    private readonly ConcurrentDictionary<(string Tenant, DateOnly Day, decimal Share), bool> _stored = new();

    public static BudgetState Decide(decimal spentToday, decimal dailyBudget) =>
        dailyBudget <= 0 ? BudgetState.Within
        : spentToday >= dailyBudget ? BudgetState.Exhausted
        : spentToday >= dailyBudget * WarningShare ? BudgetState.Warning
        : BudgetState.Within;

    /// <summary>The levels (shares of the budget) that <paramref name="spentToday"/> has reached, lowest first.</summary>
    public static IEnumerable<decimal> Reached(decimal spentToday, decimal dailyBudget) =>
        dailyBudget <= 0 ? [] : Shares.Where(share => spentToday >= dailyBudget * share);

    /// <summary>
    /// Where the tenant's spending of today stands (no paid call once it is <see cref="BudgetState.Exhausted"/>); the
    /// levels it reached are stored.
    /// </summary>
    public async Task<BudgetState> CheckAsync(string tenant, CancellationToken ct)
    {
        var budget = options.Value.DailyBudgetUsd;
        if (budget <= 0)
        {
            return BudgetState.Within;
        }
        var now = time.GetUtcNow();
        var spent = await log.SpentSinceAsync(tenant, new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero), ct);
        metrics.BudgetUsed(tenant, spent, budget);
        var day = DateOnly.FromDateTime(now.UtcDateTime);
        // Both levels when one call jumps past both: subscribers hear of each once.
        foreach (var share in Reached(spent, budget))
        {
            await StoreReachedAsync(tenant, day, share, spent, budget, ct);
        }
        return Decide(spent, budget);
    }

    /// <summary>The first time a level is reached on a day: store the fact (which the publisher carries) and log it.</summary>
    private async Task StoreReachedAsync(
        string tenant, DateOnly day, decimal share, decimal spent, decimal budget, CancellationToken ct)
    {
        if (_stored.ContainsKey((tenant, day, share)))
        {
            return;
        }
        // '/' never occurs in a conversation id, so these streams cannot collide with conversations.
        var streamId = string.Create(CultureInfo.InvariantCulture, $"budget/{day:yyyy-MM-dd}/{share * 100:0}");
        // Only a new stream takes the fact: one record per level and day, whichever call reached it first.
        var stored = await commits.AppendAsync(
            new StreamAppend(tenant, streamId, 0, [new DailyBudgetReached(day, share, spent, budget, time.GetUtcNow())]), ct);
        foreach (var past in _stored.Keys.Where(k => k.Day < day))
        {
            _stored.TryRemove(past, out _);
        }
        _stored[(tenant, day, share)] = true;
        if (!stored)
        {
            return; // another call or replica stored it
        }
        if (share >= 1m)
        {
            logger.LogWarning(
                "Tenant {Tenant} reached its daily LLM budget ({Spent:0.####} of {Budget} USD); summaries are extractive and "
                + "the embedding provider is not called for it until the next UTC day", tenant, spent, budget);
        }
        else
        {
            logger.LogWarning(
                "Tenant {Tenant} used {Spent:0.####} of its daily LLM budget of {Budget} USD; summaries use the cheapest tier only",
                tenant, spent, budget);
        }
    }
}

/// <summary>A paid call was not made: the tenant's daily budget is spent (<see cref="DailyBudget"/>).</summary>
public sealed class DailyBudgetExhaustedException(string tenant)
    : Exception($"Tenant {tenant} has spent its daily LLM budget (Llm:DailyBudgetUsd) for today.");
