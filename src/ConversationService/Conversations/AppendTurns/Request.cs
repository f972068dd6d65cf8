using System.Text.Json;
using System.Text.Json.Serialization;
using FastEndpoints;

namespace ConversationService.Conversations.AppendTurns;

/// <summary>Either the fields of a single turn or <see cref="Turns"/>, never both.</summary>
public sealed class Request : ConversationRequest, IConditionalRequest, ITurn
{
    /// <summary>The turn's id, <c>id</c> in the body (the route's <c>{id}</c> names the conversation).</summary>
    [JsonPropertyName("id"), DontBind(Source.RouteParam | Source.QueryParam)]
    public string? TurnId { get; set; }

    public string? Role { get; set; }
    public string? Content { get; set; }
    public string? Name { get; set; }
    public DateTimeOffset? OccurredAt { get; set; }
    public JsonElement? Metadata { get; set; }
    public List<TurnInput>? Turns { get; set; }

    [FromHeader("If-Match", isRequired: false, removeFromSchema: true)]
    public string? IfMatch { get; set; }

    string? ITurn.Id => TurnId;
}
