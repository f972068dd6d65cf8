namespace ConversationService.Knowledge.ListDocuments;

/// <summary>Documents with ids after <see cref="After"/> (ordinal), at most <see cref="Limit"/>.</summary>
public sealed class Request : CollectionRequest
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1_000;

    public string? After { get; set; }
    public int? Limit { get; set; }
}
