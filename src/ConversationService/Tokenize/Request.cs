namespace ConversationService.Tokenize;

/// <summary>Exactly one of <see cref="Text"/> and <see cref="Messages"/>.</summary>
public sealed class Request
{
    public string? Model { get; set; }
    public string? Text { get; set; }
    public List<Message?>? Messages { get; set; }
}

public sealed record Message(string? Role, string? Content, string? Name);
