using System.Text.Json.Nodes;

namespace ConversationService.Client;

/// <summary>PUT /conversations/{id}: absent (null) fields stay as they are.</summary>
public sealed record ConversationSettings(string? SystemPrompt = null, string? Model = null, JsonObject? Metadata = null);

/// <summary>A conversation's counters; <see cref="IndexedVersion"/> is how far the asynchronous indexes have caught up.</summary>
public sealed record Conversation(
    string Id, long Version, long IndexedVersion, string Model, string? SystemPrompt, JsonObject? Metadata,
    int TurnCount, long TotalTokens, string? Summary, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>
/// A turn to append. <see cref="Id"/> makes the append idempotent (the same id again stores nothing); the client
/// assigns one when it is null, so a retried POST never stores a turn twice.
/// </summary>
public sealed record NewTurn(
    string Role, string Content, string? Id = null, string? Name = null, DateTimeOffset? OccurredAt = null,
    JsonObject? Metadata = null);

/// <summary>The batch form of POST /conversations/{id}/turns.</summary>
internal sealed record TurnBatch(IReadOnlyList<NewTurn> Turns);

public sealed record AppendedTurns(string ConversationId, long Version, IReadOnlyList<AppendedTurn> Turns);

public sealed record AppendedTurn(string Id, int Index, int Tokens);

/// <summary>A page of turns, oldest first; <see cref="NextAfter"/> is the <c>after</c> of the next page, null on the last.</summary>
public sealed record TurnPage(string ConversationId, long Version, int TurnCount, IReadOnlyList<Turn> Turns, int? NextAfter);

public sealed record Turn(
    string Id, int Index, string Role, string Content, string? Name, DateTimeOffset OccurredAt, int Tokens, JsonObject? Metadata);

/// <summary>The roles a turn may have.</summary>
public static class TurnRoles
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";
    public const string Tool = "tool";
}
