using ConversationService.Hosting;
using FastEndpoints;

namespace ConversationService.Context.GetContext;

/// <summary>GET /conversations/{id}/context: the messages to send to the model, within budget - reserve tokens.</summary>
public sealed class Endpoint(ContextAnswers answers) : Endpoint<Request, Response>
{
    public const string Notes =
        "Order: system prompt, rolling summary, recent turns oldest first, one message with the query-relevant "
        + "material (recalled older turns under their dates, knowledge chunks, examples), then the newest user turn. "
        + "System prompt and newest user turn are mandatory (422 when they cannot fit; the newest user turn may be cut "
        + "at a token boundary). The query is `query` or else the newest user turn. Shares (0..1 of what the mandatory "
        + "parts leave) cap each section: recentShare 0.10, summaryShare 0.08, knowledgeShare 0.30, examplesShare 0.20; "
        + "recalled turns take the rest. Material below the relevance threshold is left out even when budget remains. "
        + "The ETag covers the answer's bytes; a GET with a matching If-None-Match gets 304.";

    public override void Configure()
    {
        Get("/conversations/{id}/context");
        Description(b => b.WithName("GetContext").WithTags("Conversations")
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity));
        Summary(s =>
        {
            s.Summary = "A context window that fits budget - reserve tokens, counted exactly in the model's chat format.";
            s.Description = Notes;
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct) =>
        await Send.ResultAsync(await answers.AnswerAsync(User.Tenant(), request, [], ct));
}
