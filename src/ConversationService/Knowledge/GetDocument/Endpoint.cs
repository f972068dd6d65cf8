using ConversationService.Hosting;
using FastEndpoints;

namespace ConversationService.Knowledge.GetDocument;

/// <summary>GET /collections/{collection}/documents/{docId}: the text, and the chunks it was split into.</summary>
public sealed class Endpoint(KnowledgeQueries queries) : Endpoint<DocumentRequest, Response>
{
    public override void Configure()
    {
        Get("/collections/{collection}/documents/{docId}");
        Description(b => b.WithName("GetDocument").WithTags("Knowledge").ProducesProblem(StatusCodes.Status404NotFound));
        Summary(s => s.Summary = "A knowledge document: text, metadata, o200k_base tokens and its chunk ids.");
    }

    public override async Task HandleAsync(DocumentRequest request, CancellationToken ct)
    {
        if (await Response.LoadAsync(User.Tenant(), request.Collection, request.DocId, queries, ct) is { } response)
        {
            await Send.OkAsync(response, ct);
        }
        else
        {
            await Send.ResultAsync(request.NotFound());
        }
    }
}
