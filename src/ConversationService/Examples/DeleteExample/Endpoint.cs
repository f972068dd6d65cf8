using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Storage;
using FastEndpoints;
using Marten;

namespace ConversationService.Examples.DeleteExample;

/// <summary>
/// DELETE /examples/{exampleId}: the example and (asynchronously) its vector go, its texts are erased from the log in
/// the same transaction; the id may be stored again.
/// </summary>
public sealed class Endpoint(IDocumentStore store, ExampleQueries queries, TimeProvider time) : Endpoint<ExampleRequest>
{
    public override void Configure()
    {
        Delete("/examples/{exampleId}");
        Description(b => b.WithName("DeleteExample").WithTags("Examples")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound));
        Summary(s => s.Summary =
            "Delete a few-shot example; it is no longer returned anywhere and its texts are erased from the event log.");
    }

    public override async Task HandleAsync(ExampleRequest request, CancellationToken ct) =>
        await Send.ResultAsync(await DeleteAsync(User.Tenant(), request, ct));

    private async Task<IResult> DeleteAsync(string tenant, ExampleRequest request, CancellationToken ct)
    {
        var exampleId = request.ExampleId;
        for (var attempt = 0; attempt < ConversationWriter.MaxAttempts; attempt++)
        {
            var (existing, version) = await queries.GetForWriteAsync(tenant, exampleId, ct);
            if (existing is null)
            {
                return request.NotFound();
            }
            if (await EventErasure.TryEraseAsync(
                    store, tenant, [(ExampleStream.Id(exampleId), version)], new ExampleDeleted(exampleId, time.GetUtcNow()), ct))
            {
                return TypedResults.NoContent();
            }
        }
        return Problems.Busy(exampleId);
    }
}
