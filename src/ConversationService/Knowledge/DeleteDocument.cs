using System.Security.Claims;
using ConversationService.Hosting;

namespace ConversationService.Knowledge;

/// <summary>
/// DELETE /collections/{collection}/documents/{docId}: its text, chunks and (asynchronously) vectors go, and the text
/// of every version is erased from the log in the same transaction.
/// </summary>
public static class DeleteDocument
{
    public static RouteHandlerBuilder MapDeleteDocument(this RouteGroupBuilder group) =>
        group.MapDelete("/{collection}/documents/{docId}", HandleAsync)
            .WithName("DeleteDocument")
            .WithSummary("Delete a knowledge document; its chunks are no longer returned anywhere and its text is erased from the event log. The same id may be stored again.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

    private static async Task<IResult> HandleAsync(
        string collection, string docId, ClaimsPrincipal user, EventStore.EventStore store, KnowledgeQueries queries,
        TimeProvider time, CancellationToken ct)
    {
        if (KnowledgeInput.Key(collection, docId) is { } invalid)
        {
            return invalid;
        }
        await using var session = await store.OpenForWritingAsync(
            user.Tenant(), DocumentStream.Id(collection, docId), DocumentStream.Type, ct);
        if (await queries.GetForWriteAsync(session, collection, docId, ct) is null)
        {
            return KnowledgeInput.NotFound(collection, docId);
        }
        await session.EraseContentAsync([], ct);
        await session.AppendAndCommitAsync([new DocumentDeleted(collection, docId, time.GetUtcNow())], null, ct);
        return TypedResults.NoContent();
    }
}
