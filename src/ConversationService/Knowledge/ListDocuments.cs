using System.Security.Claims;
using System.Text.Json.Serialization;
using ConversationService.Conversations;
using ConversationService.Hosting;

namespace ConversationService.Knowledge;

/// <summary>GET /collections/{collection}/documents?after=&amp;limit=: the collection's documents by id, paged.</summary>
public static class ListDocuments
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1_000;

    /// <summary><see cref="NextAfter"/> is the <c>after</c> of the next page, absent on the last page.</summary>
    public sealed record Response(
        string Collection, IReadOnlyList<DocumentSummary> Documents,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? NextAfter);

    public static RouteHandlerBuilder MapListDocuments(this RouteGroupBuilder group) =>
        group.MapGet("/{collection}/documents", HandleAsync)
            .WithName("ListDocuments")
            .WithSummary("Documents of a collection ordered by id (ordinal), with their tokens and chunk counts.")
            .Produces<Response>()
            .ProducesValidationProblem();

    private static async Task<IResult> HandleAsync(
        string collection, string? after, int? limit, ClaimsPrincipal user, KnowledgeQueries queries, CancellationToken ct)
    {
        if (KnowledgeInput.Key(collection, null) is { } invalid)
        {
            return invalid;
        }
        if (after is not null && !Identifiers.IsValid(after))
        {
            return Problems.Invalid("after", $"after is a document id: {LibraryValidation.IdRule}.");
        }
        if (limit is < 1 or > MaxLimit)
        {
            return Problems.Invalid("limit", $"limit is between 1 and {MaxLimit}.");
        }
        var take = limit ?? DefaultLimit;
        var documents = await queries.ListAsync(user.Tenant(), collection, after, take + 1, ct);
        return TypedResults.Ok(new Response(
            collection, [.. documents.Take(take)], documents.Count > take ? documents[take - 1].Id : null));
    }
}
