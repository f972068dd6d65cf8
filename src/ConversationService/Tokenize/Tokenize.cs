using System.Text;
using ConversationService.Hosting;
using ConversationService.Tokenizers;
using Microsoft.Extensions.Options;

namespace ConversationService.Tokenize;

/// <summary>POST /tokenize: count a text, or a chat prompt in OpenAI's chat format, for a model.</summary>
public static class Tokenize
{
    public sealed record Message(string? Role, string? Content, string? Name);

    /// <summary>Exactly one of <see cref="Text"/> and <see cref="Messages"/>.</summary>
    public sealed record Request(string? Model, string? Text, List<Message?>? Messages);

    public sealed record Response(string Model, string Encoding, int Tokens);

    public static RouteHandlerBuilder MapTokenize(this IEndpointRouteBuilder app) =>
        app.MapPost("/tokenize", Handle)
            .RequireAuthorization()
            .WithTags("Tokenize")
            .WithName("Tokenize")
            .WithSummary("Token count of a text, or of chat messages including the 3 tokens of reply priming.")
            .Produces<Response>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

    private static IResult Handle(Request request, ModelTokenizers tokenizers, IOptions<LimitsOptions> limits)
    {
        if (string.IsNullOrEmpty(request.Model))
        {
            return Problems.Invalid("model", $"model is required. Supported: {ModelTokenizers.SupportedModels}");
        }
        if (!tokenizers.TryResolveRequested(request.Model, out var tokenizer))
        {
            return Problems.UnknownModel("model", request.Model);
        }
        if ((request.Text is null) == (request.Messages is null))
        {
            return Problems.Invalid("text", "Send either text or messages.");
        }
        var max = limits.Value.MaxContentBytes;
        if (request.Text is { } text)
        {
            return Encoding.UTF8.GetByteCount(text) > max
                ? TooLarge("text", max)
                : TypedResults.Ok(new Response(request.Model, tokenizer.Encoding, tokenizer.Tokenizer.CountTokens(text)));
        }
        var messages = request.Messages!;
        if (messages.Count > limits.Value.MaxTurnsPerBatch)
        {
            return Problems.Invalid("messages", $"At most {limits.Value.MaxTurnsPerBatch} messages (Limits:MaxTurnsPerBatch).");
        }
        for (var i = 0; i < messages.Count; i++)
        {
            if (messages[i] is null)
            {
                return Problems.Invalid($"messages[{i}]", "A message is an object with role and content.");
            }
            if (messages[i]!.Role is not { Length: >= 1 and <= Identifiers.MaxNameLength })
            {
                return Problems.Invalid($"messages[{i}].role", $"role is required, at most {Identifiers.MaxNameLength} characters.");
            }
            if (messages[i]!.Name is { Length: > Identifiers.MaxNameLength })
            {
                return Problems.Invalid($"messages[{i}].name", $"name is at most {Identifiers.MaxNameLength} characters.");
            }
            if (messages[i]!.Content is null)
            {
                return Problems.Invalid($"messages[{i}].content", "content is required.");
            }
            if (Encoding.UTF8.GetByteCount(messages[i]!.Content!) > max)
            {
                return TooLarge($"messages[{i}].content", max);
            }
        }
        var tokens = tokenizer.Tokenizer.CountChatTokens(messages.Select(m => new ChatMessage(m!.Role!, m.Content!, m.Name)));
        return TypedResults.Ok(new Response(request.Model, tokenizer.Encoding, tokens));
    }

    private static IResult TooLarge(string field, int max) =>
        Problems.Invalid([new FieldError(field, $"Exceeds {max} bytes (Limits:MaxContentBytes).", true)],
            StatusCodes.Status413PayloadTooLarge);
}
