using ConversationService.Hosting;
using FastEndpoints;

namespace ConversationService.Context.GetContext;

/// <summary>
/// POST /conversations/{id}/context: the GET parameters in a JSON body, plus <c>candidates</c>, the RAG chunks of
/// the caller's own retriever, which are relevance-filtered and packed into the knowledge section.
/// </summary>
public sealed class PostEndpoint(ContextAnswers answers) : Endpoint<PostRequest, Response>
{
    public override void Configure()
    {
        Post("/conversations/{id}/context");
        Description(b => b.WithName("PostContext").WithTags("Conversations")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity));
        Summary(s =>
        {
            s.Summary = "The context window of GET, with the caller's retrieved chunks filtered and packed into knowledge.";
            s.Description = Endpoint.Notes
                + $" candidates: at most {PostRequest.MaxCandidates} of {{id, text}}, ids unique "
                + $"(1-{PostRequest.MaxCandidateIdLength} characters), text at most {PostRequest.MaxCandidateBytes} bytes.";
        });
    }

    public override async Task HandleAsync(PostRequest request, CancellationToken ct)
    {
        var candidates = (request.Candidates ?? []).Select(c => new KnowledgeItem(c!.Id!, c.Text!, null)).ToArray();
        await Send.ResultAsync(await answers.AnswerAsync(User.Tenant(), request, candidates, ct));
    }
}
