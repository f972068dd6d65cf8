using System.Security.Claims;
using ConversationService.Hosting;

namespace ConversationService.Conversations;

/// <summary>
/// DELETE /conversations/{id}: the read model rows go, the stream is archived, every endpoint then 404s, and the
/// content of its events and of its summaries' events is erased from the log in the same transaction.
/// </summary>
public static class DeleteConversation
{
    public static RouteHandlerBuilder MapDeleteConversation(this RouteGroupBuilder group) =>
        group.MapDelete("/{id}", HandleAsync)
            .WithName("DeleteConversation")
            .WithSummary("Delete a conversation; its content is no longer readable through any endpoint and is erased from the event log.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);

    private static async Task<IResult> HandleAsync(
        string id, ClaimsPrincipal user, ConversationWriter writer, ConversationEviction eviction, TimeProvider time,
        CancellationToken ct)
    {
        var tenant = user.Tenant();
        var (session, state, _) = await writer.OpenAsync(tenant, id, [], ct);
        await using (session)
        {
            if (!state.Exists || state.Archived)
            {
                return Problems.NotFound(id);
            }
            // Archived streams answer 404 to every later write, so the id cannot be revived with the old history.
            session.MarkArchived();
            await session.EraseContentAsync([Summaries.SummaryStream.Id(id)], ct);
            await session.AppendAndCommitAsync([new ConversationDeleted(time.GetUtcNow())], null, ct);
            // Every replica forgets its copies when it reads the deletion from the log (ConversationEviction);
            // this one does so now, so nothing of the conversation is in its memory once the client hears 204.
            eviction.Forget(tenant, id);
            return TypedResults.NoContent();
        }
    }
}
