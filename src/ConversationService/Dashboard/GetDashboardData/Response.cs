using ConversationService.Operations;
using ConversationService.Usage;

namespace ConversationService.Dashboard.GetDashboardData;

/// <summary>What the dashboard shows for the caller's tenant over [from, to): one entry per UTC day the range touches.</summary>
public sealed record Response(
    DateTimeOffset From, DateTimeOffset To, Budget Budget, IReadOnlyList<Day> Days,
    IReadOnlyList<TopConversation> TopConversations, TenantOperations Operations);

/// <summary>Today's (UTC) LLM spend against the daily budget; state is within, warning (80%) or exhausted (100%).</summary>
public sealed record Budget(decimal DailyBudgetUsd, decimal SpentTodayUsd, string State);

/// <summary>
/// Context requests of the day: tokens served against the full histories, that difference priced at each target
/// model's input rate, the tokens of each section kind; and the day's LLM spend with its budget state.
/// </summary>
public sealed record Day(
    DateOnly Date, long ContextRequests, long TokensServed, long FullHistoryTokens, decimal CostSavedUsd,
    SectionTokens Sections, decimal SpentUsd, string BudgetState);

public sealed record TopConversation(string ConversationId, long ContextRequests, long TokensServed, long FullHistoryTokens);
