using System.Security.Claims;
using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Storage;
using Marten;

namespace ConversationService.Examples;

/// <summary>
/// DELETE /examples/{exampleId}: the example and (asynchronously) its vector go, its texts are erased from the log in
/// the same transaction; the id may be stored again.
/// </summary>
public static class DeleteExample
{
    public static RouteHandlerBuilder MapDeleteExample(this RouteGroupBuilder group) =>
        group.MapDelete("/{exampleId}", HandleAsync)
            .WithName("DeleteExample")
            .WithSummary("Delete a few-shot example; it is no longer returned anywhere and its texts are erased from the event log.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

    private static async Task<IResult> HandleAsync(
        string exampleId, ClaimsPrincipal user, IDocumentStore store, ExampleQueries queries, TimeProvider time,
        CancellationToken ct)
    {
        if (ExampleInput.Id(exampleId) is { } invalid)
        {
            return invalid;
        }
        var tenant = user.Tenant();
        for (var attempt = 0; attempt < ConversationWriter.MaxAttempts; attempt++)
        {
            var (existing, version) = await queries.GetForWriteAsync(tenant, exampleId, ct);
            if (existing is null)
            {
                return ExampleInput.NotFound(exampleId);
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
