using System.Security.Claims;
using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Storage;
using Marten;

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
        string collection, string docId, ClaimsPrincipal user, IDocumentStore store, KnowledgeQueries queries,
        TimeProvider time, CancellationToken ct)
    {
        if (KnowledgeInput.Key(collection, docId) is { } invalid)
        {
            return invalid;
        }
        var tenant = user.Tenant();
        for (var attempt = 0; attempt < ConversationWriter.MaxAttempts; attempt++)
        {
            var (existing, version) = await queries.GetForWriteAsync(tenant, collection, docId, ct);
            if (existing is null)
            {
                return KnowledgeInput.NotFound(collection, docId);
            }
            if (await EventErasure.TryEraseAsync(
                    store, tenant, [(DocumentStream.Id(collection, docId), version)],
                    new DocumentDeleted(collection, docId, time.GetUtcNow()), ct))
            {
                return TypedResults.NoContent();
            }
        }
        return Problems.Busy(docId);
    }
}
