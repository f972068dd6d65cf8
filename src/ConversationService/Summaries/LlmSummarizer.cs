using ConversationService.Contracts;
using ConversationService.Usage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace ConversationService.Summaries;

/// <summary>
/// Summaries through the chat client (<see cref="SummariesModule"/>: an OpenAI-compatible endpoint behind logging,
/// resilience and telemetry): the given tiers cheapest first, temperature 0, output capped. An error, an empty answer
/// or a refusal goes on to the next tier; an answer cut at the output cap (finish reason "length") is asked once more
/// of the same tier for a shorter summary, and kept marked truncated if that one is cut too. Every answered call is
/// recorded with the provider's token counts (counted locally when it sends none) and its price.
/// </summary>
public sealed class LlmSummarizer(
    IChatClient chat, IOptions<LlmOptions> options, LlmCallLog log, TimeProvider time, ILogger<LlmSummarizer> logger)
{
    private readonly LlmOptions _options = options.Value;

    /// <summary>The first real summary of <paramref name="tiers"/>; throws <see cref="LlmUnavailableException"/> when none gave one.</summary>
    public async Task<SummaryResult> SummarizeAsync(SummaryRequest request, IReadOnlyList<string> tiers, CancellationToken cancellationToken)
    {
        Exception? failure = null;
        foreach (var model in tiers)
        {
            try
            {
                if (await CallAsync(model, request, request.MaxTokens, cancellationToken) is not { } answer)
                {
                    logger.LogWarning("Summary model {Model} gave an empty or refused answer", model);
                    failure = new InvalidOperationException($"{model} gave an empty or refused answer.");
                    continue;
                }
                if (!answer.Truncated)
                {
                    return answer;
                }
                // Cut at the cap: ask for about two thirds of it, which leaves the model room to finish.
                logger.LogWarning("Summary model {Model} stopped at the output cap; asking for a shorter summary", model);
                var shorter = await CallAsync(model, request, request.MaxTokens * 2 / 3, cancellationToken);
                return shorter ?? answer;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning("Summary model {Model} failed: {Error}", model, e.Message);
                failure = e;
            }
        }
        throw new LlmUnavailableException(
            $"No summary from {string.Join(" or ", tiers)}: {failure?.GetType().Name}: {failure?.Message}", failure);
    }

    private async Task<SummaryResult?> CallAsync(string model, SummaryRequest request, int askedTokens, CancellationToken ct)
    {
        ChatMessage[] messages =
        [
            new(ChatRole.System, SummaryPrompt.System(askedTokens)),
            new(ChatRole.User, SummaryPrompt.User(request.PreviousSummary, request.Turns)),
        ];
        var settings = new ChatOptions { ModelId = model, Temperature = 0, MaxOutputTokens = request.MaxTokens };
        var started = time.GetTimestamp();
        var response = await chat.GetResponseAsync(messages, settings, ct);
        var latency = time.GetElapsedTime(started);

        var text = response.Text.Trim();
        var usage = response.Usage is { InputTokenCount: { } input, OutputTokenCount: { } output } reported
            ? new LlmUsage(Tokens(input), Tokens(reported.CachedInputTokenCount ?? 0), Tokens(output))
            : Pricing.Counted(request.Tokenizer, messages.Select(m => new Tokenizers.ChatMessage(m.Role.Value, m.Text)), text);
        var cost = Pricing.Cost(_options.Prices, model, usage);
        await log.RecordAsync(
            new LlmCall(request.Tenant, request.ConversationId, CallTypes.Summary, model, usage, latency, cost, time.GetUtcNow()), ct);
        return !IsRefusal(response) && text.Length > 0
            ? new SummaryResult(text, model, usage, cost, Truncated: response.FinishReason == ChatFinishReason.Length)
            : null;
    }

    // Microsoft.Extensions.AI.OpenAI carries the provider's refusal as error content named after its field.
    private static bool IsRefusal(ChatResponse response) =>
        response.Messages.SelectMany(m => m.Contents).OfType<ErrorContent>().Any(c => c.ErrorCode == "Refusal");

    private static int Tokens(long count) => (int)Math.Clamp(count, 0, int.MaxValue);
}
