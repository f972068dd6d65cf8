using ConversationService.Hosting;
using ConversationService.Storage;
using ConversationService.Summaries;
using FastEndpoints;
using Marten;

namespace ConversationService.Conversations.DeleteConversation;

/// <summary>
/// DELETE /conversations/{id}: the read model's documents go, every endpoint then 404s, and the content of its events
/// and of its summaries' events is erased from the log in the same transaction.
/// </summary>
public sealed class Endpoint(ConversationWriter writer, IDocumentStore store, ConversationEviction eviction, TimeProvider time)
    : Endpoint<ConversationRequest>
{
    public override void Configure()
    {
        Delete("/conversations/{id}");
        Description(b => b.WithName("DeleteConversation").WithTags("Conversations")
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound));
        Summary(s => s.Summary =
            "Delete a conversation; its content is no longer readable through any endpoint and is erased from the event log.");
    }

    public override async Task HandleAsync(ConversationRequest request, CancellationToken ct) =>
        await Send.ResultAsync(await DeleteAsync(User.Tenant(), request.ConversationId, ct));

    private async Task<IResult> DeleteAsync(string tenant, string id, CancellationToken ct)
    {
        using (await writer.LockAsync(tenant, id, ct))
        {
            for (var attempt = 0; attempt < ConversationWriter.MaxAttempts; attempt++)
            {
                await ConversationWriter.BackOffAsync(attempt, ct);
                var (state, _) = await writer.ReadAsync(tenant, id, [], ct);
                if (!state.Exists || state.Archived)
                {
                    return Problems.NotFound(id);
                }
                if (await TryDeleteAsync(tenant, id, state.Version, time.GetUtcNow(), ct))
                {
                    // Every replica forgets its copies when it reads the deletion from the log (ConversationEviction);
                    // this one does so now, so nothing of the conversation is in its memory once the client hears 204.
                    eviction.Forget(tenant, id);
                    return TypedResults.NoContent();
                }
            }
            return Problems.Busy(id);
        }
    }

    /// <summary>
    /// False when the conversation or its summaries moved meanwhile (nothing stored). The deletion is appended to the
    /// summary stream too, at the version erased: a summary stored concurrently makes this fail and be erased next
    /// time, and a summary after it finds the stream moved and the conversation gone.
    /// </summary>
    private async Task<bool> TryDeleteAsync(string tenant, string id, long version, DateTimeOffset now, CancellationToken ct)
    {
        var summaries = SummaryStream.Id(id);
        long summaryVersion;
        await using (var session = store.QuerySession(tenant))
        {
            summaryVersion = (await session.Events.FetchStreamStateAsync(summaries, ct))?.Version ?? 0;
        }
        return await EventErasure.TryEraseAsync(
            store, tenant, [(id, version), (summaries, summaryVersion)], new ConversationDeleted(now), ct);
    }
}
