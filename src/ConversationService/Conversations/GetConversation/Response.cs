using System.Text.Json;
using System.Text.Json.Serialization;

namespace ConversationService.Conversations.GetConversation;

public sealed record Response(
    string Id, long Version, long IndexedVersion, string Model, string? SystemPrompt, JsonElement? Metadata,
    int TurnCount, long TotalTokens, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Summary,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static async Task<Response?> LoadAsync(
        string tenant, string id, ConversationQueries queries, IndexedVersions indexed, CancellationToken ct)
    {
        if (await queries.GetConversationAsync(tenant, id, ct) is not { } row)
        {
            return null;
        }
        return new Response(
            row.Id, row.Version, await indexed.GetAsync(tenant, id, row.Version, ct), row.Model, row.SystemPrompt,
            row.Metadata, row.TurnCount, row.TotalTokens, row.Summary?.Text, row.CreatedAt, row.UpdatedAt);
    }
}
