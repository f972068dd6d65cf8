using System.Security.Claims;
using ConversationService.Hosting;

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
        string exampleId, ClaimsPrincipal user, EventStore.EventStore store, ExampleQueries queries, TimeProvider time,
        CancellationToken ct)
    {
        if (ExampleInput.Id(exampleId) is { } invalid)
        {
            return invalid;
        }
        await using var session = await store.OpenForWritingAsync(user.Tenant(), ExampleStream.Id(exampleId), ExampleStream.Type, ct);
        if (await queries.GetForWriteAsync(session, exampleId, ct) is null)
        {
            return ExampleInput.NotFound(exampleId);
        }
        await session.EraseContentAsync([], ct);
        await session.AppendAndCommitAsync([new ExampleDeleted(exampleId, time.GetUtcNow())], null, ct);
        return TypedResults.NoContent();
    }
}
