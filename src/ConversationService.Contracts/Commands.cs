using System.Text.Json;

namespace ConversationService.Contracts;

/// <summary>
/// Asks the service to fold the turns up to <see cref="ThroughIndex"/> into the conversation's rolling summary.
/// Sent by the service itself; repeating it, or receiving it after a newer one, changes nothing. <see cref="Direct"/>:
/// call the LLM now even in batch mode (the deadline passed, or the Batch API could not answer).
/// </summary>
public sealed record SummarizeConversation(
    string Tenant, string ConversationId, int ThroughIndex, DateTimeOffset RequestedAt, bool Direct = false);

/// <summary>
/// Appends turns like POST /conversations/{id}/turns, with the same validation, limits and idempotency by turn id:
/// either one turn (<see cref="TurnId"/>, <see cref="Role"/>, <see cref="Content"/>, ...) or a batch in
/// <see cref="Turns"/> (stored together, in order, or not at all). With <see cref="ExpectedVersion"/> the append is
/// conditional, like If-Match. The broker is a trusted internal boundary: the message names its tenant itself.
/// </summary>
public sealed record AppendTurn(
    string Tenant, string ConversationId, string? TurnId, string? Role, string? Content, string? Name = null,
    DateTimeOffset? OccurredAt = null, JsonElement? Metadata = null,
    IReadOnlyList<TurnToAppend>? Turns = null, long? ExpectedVersion = null);

/// <summary>One turn of an <see cref="AppendTurn"/> batch.</summary>
public sealed record TurnToAppend(
    string? TurnId, string? Role, string? Content, string? Name = null, DateTimeOffset? OccurredAt = null,
    JsonElement? Metadata = null);
