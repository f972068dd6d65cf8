using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using ConversationService.Hosting;

namespace ConversationService.Conversations;

/// <summary>GET /conversations/{id}.</summary>
public static class GetConversation
{
    public sealed record Response(
        string Id, long Version, long IndexedVersion, string Model, string? SystemPrompt, JsonElement? Metadata,
        int TurnCount, long TotalTokens, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Summary, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

    public static RouteHandlerBuilder MapGetConversation(this RouteGroupBuilder group) =>
        group.MapGet("/{id}", HandleAsync)
            .WithName("GetConversation")
            .WithSummary("A conversation's settings, counters and the version its async indexes have reached.")
            .Produces<Response>()
            .ProducesProblem(StatusCodes.Status404NotFound);

    private static async Task<IResult> HandleAsync(
        string id, ClaimsPrincipal user, HttpContext http, ConversationQueries queries, IndexedVersions indexed,
        CancellationToken ct)
    {
        var response = await LoadAsync(user.Tenant(), id, queries, indexed, ct);
        if (response is null)
        {
            return Problems.NotFound(id);
        }
        http.Response.Headers.ETag = $"\"{response.Version}\"";
        return TypedResults.Ok(response);
    }

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
