using ConversationService.Embeddings;
using ConversationService.Hosting;
using FluentValidation;
using Microsoft.Extensions.Options;

namespace ConversationService.Cache;

/// <summary>
/// What a cache entry is keyed by: the model, and either <see cref="Messages"/> (the final user message is the question,
/// the system messages, and with <see cref="IncludeConversation"/> every earlier message, the fingerprint) or
/// <see cref="Prompt"/> (the question, with nothing else).
/// </summary>
public class CacheRequest
{
    public string? Model { get; set; }
    public List<CacheMessage?>? Messages { get; set; }
    public string? Prompt { get; set; }
    public bool IncludeConversation { get; set; }
}

/// <summary>The question of a request: its key, fingerprint, parsed final user message and embedding.</summary>
public sealed record CacheQuery(string Model, string Fingerprint, string Key, CacheQuestion Question, string FinalUserMessage, float[] Vector);

public sealed class CacheRequestValidator : RequestValidator<CacheRequest>
{
    public CacheRequestValidator()
    {
        RuleFor(r => r.Model)
            .Must(model => model is { Length: >= 1 and <= Identifiers.MaxLength } && !string.IsNullOrWhiteSpace(model) && !ValidationRules.HasNul(model))
            .WithMessage($"model is required: 1-{Identifiers.MaxLength} characters.");
        RuleFor(r => r.Prompt).Cascade(CascadeMode.Stop)
            .Must((request, prompt) => (prompt is null) != (request.Messages is null)).WithMessage("Send either prompt or messages.")
            .Must(prompt => prompt is null || !string.IsNullOrWhiteSpace(prompt)).WithMessage("prompt must not be blank.")
            .Must(prompt => !ValidationRules.HasNul(prompt)).WithMessage(ValidationRules.NulMessage)
            .WithinBytes(() => Limits.MaxContentBytes);
        RuleFor(r => r.Messages).Cascade(CascadeMode.Stop)
            .Must(messages => messages is null || messages.Count is > 0 && messages.Count <= Limits.MaxTurnsPerBatch)
            .WithMessage(_ => $"messages holds 1-{Limits.MaxTurnsPerBatch} messages (Limits:MaxTurnsPerBatch).")
            .Must(messages => messages is null || !string.IsNullOrWhiteSpace(messages.LastOrDefault(m => m?.Role == "user")?.Content))
            .WithMessage("messages needs a last user message with content: the question.");
        RuleForEach(r => r.Messages)
            .NotNull().WithMessage("A message is an object with role and content.")
            .ChildRules(message =>
            {
                message.RuleFor(m => m!.Role)
                    .Must(role => role is { Length: >= 1 and <= Identifiers.MaxNameLength })
                    .WithMessage($"role is required, at most {Identifiers.MaxNameLength} characters.");
                message.RuleFor(m => m!.Content).Cascade(CascadeMode.Stop)
                    .NotNull().WithMessage("content is required.")
                    .Must(content => !ValidationRules.HasNul(content)).WithMessage(ValidationRules.NulMessage)
                    .WithinBytes(() => Limits.MaxContentBytes);
            });
    }
}

/// <summary>Turns a valid request into its <see cref="CacheQuery"/>: the one place the cache embeds.</summary>
public sealed class CacheQueries(
    EmbeddingStore embeddings, ModelTokenizers tokenizers, IOptions<EmbeddingOptions> options, ILogger<CacheQueries> logger)
{
    /// <summary>Tokens of <paramref name="text"/> with the model's tokenizer; o200k_base for a model it does not know.</summary>
    public int CountTokens(string model, string text) =>
        (tokenizers.TryResolve(model, out var known) ? known.Tokenizer : tokenizers.ForEncoding("o200k_base")).CountTokens(text);

    /// <summary>The input tokens of the request's prompt or messages: what a hit saves sending.</summary>
    public int InputTokens(CacheRequest request) =>
        CountTokens(request.Model!, request.Prompt ?? string.Join('\n', request.Messages!.Select(m => m!.Content)));

    /// <summary>
    /// The question embedded as a document, as stored questions are (question against question is symmetric), and not
    /// kept in any memory cache, so a deleted entry leaves no vector of its question behind. Null, with a warning, when
    /// the embedder fails or takes longer than <see cref="EmbeddingOptions.QueryTimeout"/>.
    /// </summary>
    public async Task<CacheQuery?> QueryAsync(string tenant, CacheRequest request, CancellationToken ct)
    {
        var messages = request.Messages?.Select(m => m!).ToList();
        var final = CacheDecisions.FinalUserMessage(messages, request.Prompt)!;
        var question = CacheDecisions.Parse(final);
        var fingerprint = CacheDecisions.Fingerprint(messages, request.IncludeConversation);
        var model = request.Model!;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.Value.QueryTimeout);
        try
        {
            var vector = (await embeddings.EmbedAsync(tenant, null, [question.Text], timeout.Token))[0];
            return new(model, fingerprint, CacheDecisions.Key(model, fingerprint, question.Text), question, final, vector);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning("Embedding a cache question with {Model} failed: {Error}", embeddings.ModelId, e.Message);
            return null;
        }
    }
}
