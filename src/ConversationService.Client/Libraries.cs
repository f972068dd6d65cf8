using System.Text.Json.Nodes;

namespace ConversationService.Client;

/// <summary>PUT /collections/{collection}/documents/{docId}.</summary>
public sealed record DocumentContent(string Text, JsonObject? Metadata = null);

public sealed record Document(
    string Collection, string Id, string Text, JsonObject? Metadata, int Tokens, long Version,
    IReadOnlyList<DocumentChunk> Chunks, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record DocumentChunk(string Id, int Tokens);

public sealed record DocumentPage(string Collection, IReadOnlyList<DocumentSummary> Documents, string? NextAfter);

public sealed record DocumentSummary(string Id, int Tokens, int ChunkCount, DateTimeOffset UpdatedAt);

/// <summary>PUT /examples/{exampleId}: a few-shot example; <see cref="Task"/> groups examples.</summary>
public sealed record ExampleContent(string Input, string Output, string? Task = null);

public sealed record Example(
    string Id, string Input, string Output, string? Task, long Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record ExamplePage(IReadOnlyList<Example> Examples, string? NextAfter);

/// <summary>GET /usage: LLM calls, tokens and cost by <see cref="GroupBy"/>, and the savings of the context endpoint.</summary>
public sealed record UsageReport(
    DateTimeOffset From, DateTimeOffset To, string GroupBy, UsageTotals Totals, IReadOnlyList<UsageGroup> Groups,
    UsageSavings Savings, UsageCache Cache);

/// <summary>Lookups of the semantic response cache and what its hits saved.</summary>
public sealed record UsageCache(long Lookups, long Hits, long Misses, long InputTokensSaved, long OutputTokensSaved, decimal CostSavedUsd);

public sealed record UsageTotals(long Calls, long InputTokens, long CachedInputTokens, long OutputTokens, decimal CostUsd);

public sealed record UsageGroup(
    string Key, long Calls, long InputTokens, long CachedInputTokens, long OutputTokens, decimal CostUsd);

/// <summary>GET /dashboard/data: the dashboard's figures for the caller's tenant, one entry per UTC day.</summary>
public sealed record DashboardData(
    DateTimeOffset From, DateTimeOffset To, DashboardBudget Budget, IReadOnlyList<DashboardDay> Days,
    IReadOnlyList<DashboardConversation> TopConversations, TenantOperations Operations);

/// <summary>Today's (UTC) spend against the daily budget; state is within, warning (80%) or exhausted.</summary>
public sealed record DashboardBudget(decimal DailyBudgetUsd, decimal SpentTodayUsd, string State);

public sealed record DashboardDay(
    DateOnly Date, long ContextRequests, long TokensServed, long FullHistoryTokens, decimal CostSavedUsd,
    SectionTokens Sections, decimal SpentUsd, string BudgetState);

public sealed record SectionTokens(long System, long Summary, long Recent, long Recalled, long Knowledge, long Examples);

public sealed record DashboardConversation(string ConversationId, long ContextRequests, long TokensServed, long FullHistoryTokens);

/// <summary>Background work not done yet: summary lag, each subscription's events behind, parked events.</summary>
public sealed record TenantOperations(
    long UncoveredTurns, long ConversationsWithUncoveredTurns, long SummariesPending,
    IReadOnlyList<SubscriptionLag> Subscriptions, long ParkedEvents);

public sealed record SubscriptionLag(string Name, long EventsBehind, long ParkedEvents);

public sealed record UsageSavings(
    long ContextRequests, long TokensServed, long FullHistoryTokens, long TokensSaved, decimal CostSavedUsd);
