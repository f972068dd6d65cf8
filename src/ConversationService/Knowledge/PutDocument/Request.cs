using System.Text.Json;

namespace ConversationService.Knowledge.PutDocument;

public sealed class Request : DocumentRequest
{
    public string? Text { get; set; }
    public JsonElement? Metadata { get; set; }
}
