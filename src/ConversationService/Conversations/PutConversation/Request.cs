using System.Text.Json;
using FastEndpoints;

namespace ConversationService.Conversations.PutConversation;

/// <summary>Absent fields stay as they are.</summary>
public sealed class Request : ConversationRequest, IConditionalRequest
{
    public string? SystemPrompt { get; set; }
    public string? Model { get; set; }
    public JsonElement? Metadata { get; set; }

    [FromHeader("If-Match", isRequired: false, removeFromSchema: true)]
    public string? IfMatch { get; set; }
}
