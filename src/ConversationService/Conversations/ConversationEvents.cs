using System.Text.Json;
using ConversationService.Storage;

namespace ConversationService.Conversations;

// Facts about one conversation stream. Stored as JSON in the event log, so fields are only ever added. A deleted
// conversation's events keep their kind and order, but not the content (IErasable; see DeleteConversation).

public sealed record ConversationStarted(
    string Tenant, string Id, string? SystemPrompt, string Model, JsonElement? Metadata, DateTimeOffset StartedAt) : IErasable
{
    public object Erased() => this with { SystemPrompt = null, Metadata = null };
}

/// <summary>Only the settings that changed are set; null means unchanged.</summary>
public sealed record ConversationSettingsChanged(
    string? SystemPrompt, string? Model, JsonElement? Metadata, DateTimeOffset ChangedAt) : IErasable
{
    public object Erased() => this with { SystemPrompt = null, Metadata = null };
}

/// <summary><see cref="Tokens"/> is counted once, at append, in <see cref="Encoding"/> (the conversation model's).</summary>
public sealed record TurnAppended(
    string TurnId, int Index, string Role, string Content, string? Name, DateTimeOffset OccurredAt,
    int Tokens, string Encoding, JsonElement? Metadata) : IErasable
{
    /// <summary>Id, index, role and token count stay: they carry no content, and the counts keep usage figures whole.</summary>
    public object Erased() => this with { Content = "", Name = null, Metadata = null };
}

public sealed record ConversationDeleted(DateTimeOffset DeletedAt);
