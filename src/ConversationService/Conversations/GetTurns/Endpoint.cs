using ConversationService.Hosting;
using FastEndpoints;

namespace ConversationService.Conversations.GetTurns;

/// <summary>GET /conversations/{id}/turns?after=&amp;limit=: turns oldest first, paged by index.</summary>
public sealed class Endpoint(ConversationQueries queries) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Get("/conversations/{id}/turns");
        Description(b => b.WithName("GetTurns").WithTags("Conversations").ProducesProblem(StatusCodes.Status404NotFound));
        Summary(s => s.Summary = "Turns with index > after, oldest first; after=0 is the first page.");
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var (tenant, id) = (User.Tenant(), request.ConversationId);
        if (await queries.GetConversationAsync(tenant, id, ct) is not { } conversation)
        {
            await Send.ResultAsync(Problems.NotFound(id));
            return;
        }
        // Bounded by the counter read above, so the page and its version describe the same state.
        var rows = await queries.GetTurnsAsync(
            tenant, id, request.After ?? 0, conversation.TurnCount, request.Limit ?? Request.DefaultLimit, ct);
        var turns = rows
            .Select(r => new Turn(r.Id, r.Index, r.Role, r.Content, r.Name, r.OccurredAt, r.Tokens, r.Metadata))
            .ToArray();
        int? next = turns.Length > 0 && turns[^1].Index < conversation.TurnCount ? turns[^1].Index : null;
        await Send.OkAsync(new Response(id, conversation.Version, conversation.TurnCount, turns, next), ct);
    }
}
