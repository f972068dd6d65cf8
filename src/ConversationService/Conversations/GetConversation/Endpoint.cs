using ConversationService.Hosting;
using FastEndpoints;

namespace ConversationService.Conversations.GetConversation;

/// <summary>GET /conversations/{id}.</summary>
public sealed class Endpoint(ConversationQueries queries, IndexedVersions indexed) : Endpoint<ConversationRequest, Response>
{
    public override void Configure()
    {
        Get("/conversations/{id}");
        Description(b => b.WithName("GetConversation").WithTags("Conversations").ProducesProblem(StatusCodes.Status404NotFound));
        Summary(s => s.Summary = "A conversation's settings, counters and the version its async indexes have reached.");
    }

    public override async Task HandleAsync(ConversationRequest request, CancellationToken ct)
    {
        if (await Response.LoadAsync(User.Tenant(), request.ConversationId, queries, indexed, ct) is not { } response)
        {
            await Send.ResultAsync(Problems.NotFound(request.ConversationId));
            return;
        }
        HttpContext.Response.Headers.ETag = $"\"{response.Version}\"";
        await Send.OkAsync(response, ct);
    }
}
