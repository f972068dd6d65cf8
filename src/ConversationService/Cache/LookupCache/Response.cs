using System.Text.Json;
using System.Text.Json.Serialization;

namespace ConversationService.Cache.LookupCache;

/// <summary>A hit carries the stored response, its similarity to the question and its age; a miss only <see cref="Hit"/> false.</summary>
public sealed record Response(
    bool Hit, string? Key = null, [property: JsonPropertyName("response")] string? Text = null, double? Similarity = null,
    double? AgeSeconds = null, JsonElement? Metadata = null);
