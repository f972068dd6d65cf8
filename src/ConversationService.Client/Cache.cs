using System.Text.Json.Nodes;

namespace ConversationService.Client;

/// <summary>One message of the exchange a cached answer belongs to.</summary>
public sealed record CacheMessage(string Role, string Content);

/// <summary>
/// POST /cache/lookup: the model, and either <see cref="Messages"/> (the final user message is the question; the
/// system messages, and with <see cref="IncludeConversation"/> every earlier message, must match too) or
/// <see cref="Prompt"/>. <see cref="MinSimilarity"/> defaults to the service's threshold.
/// </summary>
public sealed record CacheLookup(
    string Model, IReadOnlyList<CacheMessage>? Messages = null, string? Prompt = null, bool IncludeConversation = false,
    double? MinSimilarity = null);

/// <summary>A hit carries the stored response, its similarity to the question and its age; a miss only <see cref="Hit"/> false.</summary>
public sealed record CacheLookupResult(
    bool Hit, string? Key, string? Response, double? Similarity, double? AgeSeconds, JsonObject? Metadata);

/// <summary>PUT /cache/entries: the question as in <see cref="CacheLookup"/>, the answer to store and how long it lives.</summary>
public sealed record CacheEntry(
    string Model, string Response, IReadOnlyList<CacheMessage>? Messages = null, string? Prompt = null,
    bool IncludeConversation = false, int? TtlSeconds = null, JsonObject? Metadata = null);

/// <summary>The stored entry's key (for <see cref="ConversationServiceClient.DeleteCacheEntryAsync"/>) and expiry.</summary>
public sealed record StoredCacheEntry(string Key, DateTimeOffset ExpiresAt);

public sealed record DeletedCacheEntries(int Deleted);
