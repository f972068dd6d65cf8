using System.Text.Json;
using System.Text.Json.Serialization;

namespace ConversationService.Conversations.GetTurns;

/// <summary><see cref="NextAfter"/> is the <c>after</c> of the next page, absent on the last page.</summary>
public sealed record Response(string ConversationId, long Version, int TurnCount, IReadOnlyList<Turn> Turns,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? NextAfter);

public sealed record Turn(
    string Id, int Index, string Role, string Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name, DateTimeOffset OccurredAt,
    int Tokens, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Metadata);
