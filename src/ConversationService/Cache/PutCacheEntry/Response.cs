namespace ConversationService.Cache.PutCacheEntry;

/// <summary><see cref="Key"/> names the entry for DELETE /cache/entries/{key}; the same question stores under the same key.</summary>
public sealed record Response(string Key, DateTimeOffset ExpiresAt);
