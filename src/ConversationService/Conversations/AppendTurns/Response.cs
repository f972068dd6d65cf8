namespace ConversationService.Conversations.AppendTurns;

public sealed record Response(string ConversationId, long Version, IReadOnlyList<AppendedTurn> Turns);
