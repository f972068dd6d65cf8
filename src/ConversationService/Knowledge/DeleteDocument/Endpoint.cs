using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Storage;
using FastEndpoints;
using Marten;

namespace ConversationService.Knowledge.DeleteDocument;

/// <summary>
/// DELETE /collections/{collection}/documents/{docId}: its text, chunks and (asynchronously) vectors go, and the text
/// of every version is erased from the log in the same transaction.
/// </summary>
public sealed class Endpoint(IDocumentStore store, KnowledgeQueries queries, TimeProvider time) : Endpoint<DocumentRequest>
{
    public override void Configure()
    {
        Delete("/collections/{collection}/documents/{docId}");
        Description(b => b.WithName("DeleteDocument").WithTags("Knowledge")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound));
        Summary(s => s.Summary = "Delete a knowledge document; its chunks are no longer returned anywhere and its text is "
            + "erased from the event log. The same id may be stored again.");
    }

    public override async Task HandleAsync(DocumentRequest request, CancellationToken ct) =>
        await Send.ResultAsync(await DeleteAsync(User.Tenant(), request, ct));

    private async Task<IResult> DeleteAsync(string tenant, DocumentRequest request, CancellationToken ct)
    {
        var (collection, docId) = (request.Collection, request.DocId);
        for (var attempt = 0; attempt < ConversationWriter.MaxAttempts; attempt++)
        {
            var (existing, version) = await queries.GetForWriteAsync(tenant, collection, docId, ct);
            if (existing is null)
            {
                return request.NotFound();
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
