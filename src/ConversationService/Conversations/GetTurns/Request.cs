namespace ConversationService.Conversations.GetTurns;

/// <summary>Turns with index &gt; <see cref="After"/> (0: from the first), at most <see cref="Limit"/>.</summary>
public sealed class Request : ConversationRequest
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1_000;

    public int? After { get; set; }
    public int? Limit { get; set; }
}
