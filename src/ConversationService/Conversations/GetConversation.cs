using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using ConversationService.Hosting;
using ConversationService.Summaries;

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
        string id, ClaimsPrincipal user, HttpContext http, ConversationQueries queries, EventStore.EventStore store,
        SummaryQueries summaries, CancellationToken ct)
    {
        var response = await LoadAsync(user.Tenant(), id, queries, store, summaries, ct);
        if (response is null)
        {
            return Problems.NotFound(id);
        }
        http.Response.Headers.ETag = $"\"{response.Version}\"";
        return TypedResults.Ok(response);
    }

    public static async Task<Response?> LoadAsync(
        string tenant, string id, ConversationQueries queries, EventStore.EventStore store, SummaryQueries summaries,
        CancellationToken ct)
    {
        var row = await queries.GetConversationAsync(tenant, id, ct);
        if (row is null)
        {
            return null;
        }
        // Async projections may trail the row; never report more than the row shows.
        var indexed = await store.GetIndexedVersionAsync(tenant, id, ct) ?? 0;
        var summary = await summaries.GetAsync(tenant, id, ct);
        return new Response(
            row.Id, row.Version, Math.Min(indexed, row.Version), row.Model, row.SystemPrompt, ParseJson(row.Metadata),
            row.TurnCount, row.TotalTokens, summary?.Text, row.CreatedAt, row.UpdatedAt);
    }

    public static JsonElement? ParseJson(string? json)
    {
        if (json is null)
        {
            return null;
        }
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
