using System.ClientModel;
using Tokenizer = Microsoft.ML.Tokenizers.Tokenizer;
using ConversationService.Usage;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;
using Polly;

namespace ConversationService.Summaries;

/// <summary>
/// Summaries on an OpenAI-compatible chat endpoint through the OpenAI SDK: the cheapest tier first, temperature 0,
/// output capped; an error, an empty answer or a refusal escalates once to the next tier. Every answered call is
/// recorded with the provider's token counts (counted locally when it sends none) and its price.
/// </summary>
public sealed class LlmSummarizer : ISummarizer
{
    private readonly LlmOptions _options;
    private readonly OpenAIClient _client;
    private readonly ResiliencePipeline _pipeline;
    private readonly LlmCallLog _log;
    private readonly TimeProvider _time;
    private readonly ILogger<LlmSummarizer> _logger;

    public LlmSummarizer(IOptions<LlmOptions> options, LlmCallLog log, TimeProvider time, ILogger<LlmSummarizer> logger)
    {
        _options = options.Value;
        _log = log;
        _time = time;
        _logger = logger;
        _client = new OpenAIClient(
            new ApiKeyCredential(_options.ApiKey ?? throw new InvalidOperationException("Llm:ApiKey is not set.")),
            LlmResilience.ClientOptions(_options));
        _pipeline = LlmResilience.Build(_options, time);
    }

    public async Task<SummaryResult> SummarizeAsync(SummaryRequest request, CancellationToken cancellationToken)
    {
        var tiers = _options.Tiers.Take(2).ToArray();
        Exception? failure = null;
        foreach (var model in tiers)
        {
            try
            {
                if (await CallAsync(model, request, cancellationToken) is { } result)
                {
                    return result;
                }
                _logger.LogWarning("Summary model {Model} gave an empty or refused answer", model);
                failure = new InvalidOperationException($"{model} gave an empty or refused answer.");
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                _logger.LogWarning("Summary model {Model} failed: {Error}", model, e.Message);
                failure = e;
            }
        }
        throw new LlmUnavailableException(
            $"No summary from {string.Join(" or ", tiers)}: {failure?.GetType().Name}: {failure?.Message}", failure);
    }

    private async Task<SummaryResult?> CallAsync(string model, SummaryRequest request, CancellationToken ct)
    {
        var chat = _client.GetChatClient(model);
        ChatMessage[] messages =
        [
            new SystemChatMessage(SummaryPrompt.System(request.MaxTokens)),
            new UserChatMessage(SummaryPrompt.User(request.PreviousSummary, request.Turns)),
        ];
        var settings = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = request.MaxTokens };
        var started = _time.GetTimestamp();
        var completion = await _pipeline.ExecuteAsync(
            async token => (await chat.CompleteChatAsync(messages, settings, token)).Value, ct);
        var latency = _time.GetElapsedTime(started);

        var text = string.Concat(completion.Content.Select(part => part.Text)).Trim();
        var usage = completion.Usage is { } u
            ? new LlmUsage(u.InputTokenCount, u.InputTokenDetails?.CachedTokenCount ?? 0, u.OutputTokenCount)
            : Counted(messages, text, request.Tokenizer);
        var cost = Pricing.Cost(_options.Prices, model, usage);
        await _log.RecordAsync(
            new LlmCall(request.Tenant, request.ConversationId, CallTypes.Summary, model, usage, latency, cost, _time.GetUtcNow()), ct);
        return string.IsNullOrEmpty(completion.Refusal) && text.Length > 0
            ? new SummaryResult(text, model, usage, cost)
            : null;
    }

    private static LlmUsage Counted(ChatMessage[] messages, string answer, Tokenizer tokenizer) => new(
        Tokenizers.ChatTokens.CountChatTokens(tokenizer, messages.Select(m => new Tokenizers.ChatMessage(
            m is SystemChatMessage ? "system" : "user", string.Concat(m.Content.Select(p => p.Text))))),
        0,
        tokenizer.CountTokens(answer));
}
