using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using ConversationService.Hosting;

namespace ConversationService.Knowledge;

/// <summary>GET /collections/{collection}/documents/{docId}: the text, and the chunks it was split into.</summary>
public static class GetDocument
{
    public sealed record Chunk(string Id, int Tokens);

    public sealed record Response(
        string Collection, string Id, string Text,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Metadata,
        int Tokens, long Version, IReadOnlyList<Chunk> Chunks, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

    public static RouteHandlerBuilder MapGetDocument(this RouteGroupBuilder group) =>
        group.MapGet("/{collection}/documents/{docId}", HandleAsync)
            .WithName("GetDocument")
            .WithSummary("A knowledge document: text, metadata, o200k_base tokens and its chunk ids.")
            .Produces<Response>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

    private static async Task<IResult> HandleAsync(
        string collection, string docId, ClaimsPrincipal user, KnowledgeQueries queries, CancellationToken ct)
    {
        if (KnowledgeInput.Key(collection, docId) is { } invalid)
        {
            return invalid;
        }
        return await LoadAsync(user.Tenant(), collection, docId, queries, ct) is { } response
            ? TypedResults.Ok(response)
            : KnowledgeInput.NotFound(collection, docId);
    }

    public static async Task<Response?> LoadAsync(
        string tenant, string collection, string docId, KnowledgeQueries queries, CancellationToken ct) =>
        await queries.GetDocumentAsync(tenant, collection, docId, ct) is { } document
            ? new Response(
                document.Collection, document.DocumentId, document.Text, document.Metadata, document.Tokens,
                document.Version, [.. document.ToChunks().Select(c => new Chunk(c.Id, c.Tokens))], document.CreatedAt,
                document.UpdatedAt)
            : null;
}
