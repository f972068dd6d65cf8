using System.Text.Json;

namespace ConversationService.Cache.PutCacheEntry;

/// <summary><see cref="TtlSeconds"/> defaults to Cache:DefaultTtl.</summary>
public sealed class Request : CacheRequest
{
    public string? Response { get; set; }
    public int? TtlSeconds { get; set; }
    public JsonElement? Metadata { get; set; }
}
