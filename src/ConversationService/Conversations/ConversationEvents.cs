using System.Text.Json;

namespace ConversationService.Conversations;

// Facts about one conversation stream. Stored as JSON in the event log, so fields are only ever added.

public sealed record ConversationStarted(
    string Tenant, string Id, string? SystemPrompt, string Model, JsonElement? Metadata, DateTimeOffset StartedAt);

/// <summary>Only the settings that changed are set; null means unchanged.</summary>
public sealed record ConversationSettingsChanged(
    string? SystemPrompt, string? Model, JsonElement? Metadata, DateTimeOffset ChangedAt);

/// <summary><see cref="Tokens"/> is counted once, at append, in <see cref="Encoding"/> (the conversation model's).</summary>
public sealed record TurnAppended(
    string TurnId, int Index, string Role, string Content, string? Name, DateTimeOffset OccurredAt,
    int Tokens, string Encoding, JsonElement? Metadata);

public sealed record ConversationDeleted(DateTimeOffset DeletedAt);

public static class ConversationStream
{
    public const string Type = "conversation";
}
