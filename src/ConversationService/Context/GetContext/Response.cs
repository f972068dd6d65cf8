namespace ConversationService.Context.GetContext;

public sealed record Response(
    string ConversationId, long Version, string Model, string Encoding, int Budget, int Reserve, int Tokens,
    long FullHistoryTokens, IReadOnlyList<ContextMessage> Messages, IReadOnlyList<ContextSection> Sections);
