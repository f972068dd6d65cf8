namespace ConversationService.Examples.PutExample;

/// <summary><see cref="Task"/> optionally groups examples.</summary>
public sealed class Request : ExampleRequest
{
    public string? Input { get; set; }
    public string? Output { get; set; }
    public string? Task { get; set; }
}
