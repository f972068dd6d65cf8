using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using ConversationService.Hosting;

namespace ConversationService.Conversations;

/// <summary>GET /conversations/{id}/turns?after=&amp;limit=: turns oldest first, paged by index.</summary>
public static class GetTurns
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1_000;

    public sealed record Turn(
        string Id, int Index, string Role, string Content, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name, DateTimeOffset OccurredAt,
        int Tokens, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Metadata);

    /// <summary><see cref="NextAfter"/> is the <c>after</c> of the next page, absent on the last page.</summary>
    public sealed record Response(string ConversationId, long Version, int TurnCount, IReadOnlyList<Turn> Turns,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? NextAfter);

    public static RouteHandlerBuilder MapGetTurns(this RouteGroupBuilder group) =>
        group.MapGet("/{id}/turns", HandleAsync)
            .WithName("GetTurns")
            .WithSummary("Turns with index > after, oldest first; after=0 is the first page.")
            .Produces<Response>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

    private static async Task<IResult> HandleAsync(
        string id, int? after, int? limit, ClaimsPrincipal user, ConversationQueries queries, CancellationToken ct)
    {
        if (after is < 0)
        {
            return Problems.Invalid("after", "after is a turn index >= 0.");
        }
        if (limit is < 1 or > MaxLimit)
        {
            return Problems.Invalid("limit", $"limit is between 1 and {MaxLimit}.");
        }
        var tenant = user.Tenant();
        var conversation = await queries.GetConversationAsync(tenant, id, ct);
        if (conversation is null)
        {
            return Problems.NotFound(id);
        }
        var from = after ?? 0;
        var pageSize = limit ?? DefaultLimit;
        // Bounded by the counter read above, so the page and its version describe the same state.
        var rows = await queries.GetTurnsAsync(tenant, id, from, conversation.TurnCount, pageSize, ct);
        var turns = rows
            .Select(r => new Turn(r.Id, r.Index, r.Role, r.Content, r.Name, r.OccurredAt, r.Tokens,
                r.Metadata))
            .ToArray();
        int? next = turns.Length > 0 && turns[^1].Index < conversation.TurnCount ? turns[^1].Index : null;
        return TypedResults.Ok(new Response(id, conversation.Version, conversation.TurnCount, turns, next));
    }
}
