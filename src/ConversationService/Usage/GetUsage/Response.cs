namespace ConversationService.Usage.GetUsage;

public sealed record Response(
    DateTimeOffset From, DateTimeOffset To, string GroupBy, Totals Totals, IReadOnlyList<Group> Groups, Savings Savings,
    CacheUsage Cache);

public sealed record Totals(long Calls, long InputTokens, long CachedInputTokens, long OutputTokens, decimal CostUsd);

public sealed record Group(string Key, long Calls, long InputTokens, long CachedInputTokens, long OutputTokens, decimal CostUsd);

/// <summary>Tokens the context endpoint served against the full histories, and that difference priced at each target model's input rate.</summary>
public sealed record Savings(long ContextRequests, long TokensServed, long FullHistoryTokens, long TokensSaved, decimal CostSavedUsd);

/// <summary>
/// Lookups of the semantic response cache: hits, misses, and what the hits saved: the prompts' input tokens and the
/// stored responses' output tokens, priced at each model's rates.
/// </summary>
public sealed record CacheUsage(long Lookups, long Hits, long Misses, long InputTokensSaved, long OutputTokensSaved, decimal CostSavedUsd);
