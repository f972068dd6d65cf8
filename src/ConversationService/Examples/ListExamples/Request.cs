namespace ConversationService.Examples.ListExamples;

/// <summary>Examples with ids after <see cref="After"/> (ordinal), only <see cref="Task"/>'s when given.</summary>
public sealed class Request
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1_000;

    public string? Task { get; set; }
    public string? After { get; set; }
    public int? Limit { get; set; }
}
