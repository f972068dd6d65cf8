namespace ConversationService.Usage.GetUsage;

public sealed record Response(
    DateTimeOffset From, DateTimeOffset To, string GroupBy, Totals Totals, IReadOnlyList<Group> Groups, Savings Savings);

public sealed record Totals(long Calls, long InputTokens, long CachedInputTokens, long OutputTokens, decimal CostUsd);

public sealed record Group(string Key, long Calls, long InputTokens, long CachedInputTokens, long OutputTokens, decimal CostUsd);

/// <summary>Tokens the context endpoint served against the full histories, and that difference priced at each target model's input rate.</summary>
public sealed record Savings(long ContextRequests, long TokensServed, long FullHistoryTokens, long TokensSaved, decimal CostSavedUsd);
