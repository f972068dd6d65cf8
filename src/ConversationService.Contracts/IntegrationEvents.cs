using System.Text.Json;

namespace ConversationService.Contracts;

// Every stored event of a conversation stream, and a tenant's budget alerts, published by the service after it is
// committed. MassTransit names
// the exchange after the full type name, e.g. "ConversationService.Contracts:TurnAppended". Fields are only ever
// added, never renamed, so subscribers built against an older copy keep working.

/// <summary>
/// The envelope every integration event carries: <see cref="Version"/> orders the events of one conversation
/// (contiguous from 1; summaries have a sequence of versions of their own, see <see cref="ConversationSummarized"/>),
/// <see cref="Sequence"/> orders the whole log. Redeliveries repeat both, so a subscriber that remembers the last
/// version per conversation (and per kind) can drop duplicates.
/// </summary>
public interface IConversationEvent
{
    string Tenant { get; }
    string ConversationId { get; }
    long Version { get; }
    long Sequence { get; }
    DateTimeOffset StoredAt { get; }
}

public sealed record ConversationStarted(
    string Tenant, string ConversationId, long Version, long Sequence, DateTimeOffset StoredAt,
    string? SystemPrompt, string Model, JsonElement? Metadata) : IConversationEvent;

/// <summary>Only the settings that changed are set; null means unchanged.</summary>
public sealed record ConversationSettingsChanged(
    string Tenant, string ConversationId, long Version, long Sequence, DateTimeOffset StoredAt,
    string? SystemPrompt, string? Model, JsonElement? Metadata) : IConversationEvent;

/// <summary><see cref="Index"/> is 1-based and contiguous; <see cref="Tokens"/> is counted in <see cref="Encoding"/>.</summary>
public sealed record TurnAppended(
    string Tenant, string ConversationId, long Version, long Sequence, DateTimeOffset StoredAt,
    string TurnId, int Index, string Role, string Content, string? Name, DateTimeOffset OccurredAt,
    int Tokens, string Encoding, JsonElement? Metadata) : IConversationEvent;

/// <summary>
/// The turns (<see cref="FromIndex"/>..<see cref="ThroughIndex"/>) folded into a new rolling summary that replaces
/// the previous one. Summaries are written in the background to a stream of their own, so that they never move the
/// conversation's version (clients use it for If-Match): <see cref="Version"/> counts summaries (1, 2, ...).
/// <see cref="Provisional"/>: an extractive stand-in written while every LLM tier failed; a real summary of the same
/// turns follows. <see cref="Truncated"/>: the model stopped at the output cap. <see cref="Batched"/>: written through
/// the Batch API (at its price).
/// </summary>
public sealed record ConversationSummarized(
    string Tenant, string ConversationId, long Version, long Sequence, DateTimeOffset StoredAt,
    int FromIndex, int ThroughIndex, string Summary, int SummaryTokens, string Model,
    LlmUsage Usage, decimal CostUsd, bool Provisional = false, bool Truncated = false, bool Batched = false) : IConversationEvent;

/// <summary>Tokens of one LLM call as the provider reported them (counted locally when it sent none).</summary>
public sealed record LlmUsage(int InputTokens, int CachedInputTokens, int OutputTokens);

/// <summary>The conversation's content is no longer readable through the service; subscribers should forget it too.</summary>
public sealed record ConversationDeleted(
    string Tenant, string ConversationId, long Version, long Sequence, DateTimeOffset StoredAt) : IConversationEvent;

/// <summary>
/// A tenant's LLM spending on <see cref="Day"/> (UTC; summaries and a paid embedding provider, at the service's
/// prices) reached <see cref="Share"/> of its daily budget: 0.8, a warning, and 1.0, from when summaries are extractive
/// and the provider is not called for the tenant until the next UTC day. Published once per tenant, day and share;
/// <see cref="Sequence"/> orders it in the service's log like the conversation events.
/// </summary>
public sealed record DailyBudgetReached(
    string Tenant, DateOnly Day, decimal Share, decimal SpentUsd, decimal BudgetUsd, long Sequence, DateTimeOffset StoredAt);
