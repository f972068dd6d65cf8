using ConversationService.Hosting;
using FastEndpoints;

namespace ConversationService.Knowledge.ListDocuments;

/// <summary>GET /collections/{collection}/documents?after=&amp;limit=: the collection's documents by id, paged.</summary>
public sealed class Endpoint(KnowledgeQueries queries) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Get("/collections/{collection}/documents");
        Description(b => b.WithName("ListDocuments").WithTags("Knowledge"));
        Summary(s => s.Summary = "Documents of a collection ordered by id (ordinal), with their tokens and chunk counts.");
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var take = request.Limit ?? Request.DefaultLimit;
        var documents = await queries.ListAsync(User.Tenant(), request.Collection, request.After, take + 1, ct);
        await Send.OkAsync(new Response(
            request.Collection, [.. documents.Take(take)], documents.Count > take ? documents[take - 1].Id : null), ct);
    }
}
