namespace ConversationService.Tokenizers;

/// <summary>One chat message as counted by OpenAI's chat format.</summary>
public readonly record struct ChatMessage(string Role, string Content, string? Name = null);
