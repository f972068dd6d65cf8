namespace ConversationService.Cache.LookupCache;

/// <summary><see cref="MinSimilarity"/> defaults to Cache:DefaultMinSimilarity.</summary>
public sealed class Request : CacheRequest
{
    public double? MinSimilarity { get; set; }
}
