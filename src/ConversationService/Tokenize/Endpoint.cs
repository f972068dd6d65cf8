using ConversationService.Hosting;
using ConversationService.Tokenizers;
using FastEndpoints;

namespace ConversationService.Tokenize;

/// <summary>POST /tokenize: count a text, or a chat prompt in OpenAI's chat format, for a model.</summary>
public sealed class Endpoint(ModelTokenizers tokenizers) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Post("/tokenize");
        Description(b => b.WithName("Tokenize").WithTags("Tokenize").ProducesProblem(StatusCodes.Status413PayloadTooLarge));
        Summary(s => s.Summary = "Token count of a text, or of chat messages including the 3 tokens of reply priming.");
    }

    public override Task HandleAsync(Request request, CancellationToken ct)
    {
        tokenizers.TryResolveRequested(request.Model!, out var tokenizer);
        var tokens = request.Text is { } text
            ? tokenizer.Tokenizer.CountTokens(text)
            : tokenizer.Tokenizer.CountChatTokens(request.Messages!.Select(m => new ChatMessage(m!.Role!, m.Content!, m.Name)));
        return Send.OkAsync(new Response(request.Model!, tokenizer.Encoding, tokens), ct);
    }
}
