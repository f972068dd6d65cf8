namespace ConversationService.Tokenize;

public sealed record Response(string Model, string Encoding, int Tokens);
