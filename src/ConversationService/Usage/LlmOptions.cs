using ConversationService.Contracts;
using ConversationService.Tokenizers;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Usage;

/// <summary>USD per 1M tokens.</summary>
public sealed class ModelPrice
{
    public decimal Input { get; set; }
    public decimal CachedInput { get; set; }
    public decimal Output { get; set; }
}

/// <summary>
/// Section <c>Llm</c>: any OpenAI-compatible endpoint (OpenAI, Azure OpenAI, Ollama, vLLM). Without an
/// <see cref="ApiKey"/> the service makes no LLM calls and summarizes extractively.
/// </summary>
public sealed class LlmOptions
{
    public static readonly string[] DefaultModels = ["gpt-4.1-nano", "gpt-4o-mini"];

    public string Endpoint { get; set; } = "https://api.openai.com/v1";

    /// <summary>Never logged. Empty means offline.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Cheapest first, any number; a failed, empty or refused answer goes on to the next tier.</summary>
    public string[] Models { get; set; } = [];

    public int MaxRetries { get; set; } = 4;
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A provider's Retry-After is honoured up to this; longer waits fail the attempt instead.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(60);

    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the circuit stays open after the provider kept failing.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Per tenant and UTC day; 0 = no budget. At 80% a warning and the cheapest tier only, at 100% summaries go offline until midnight.</summary>
    public decimal DailyBudgetUsd { get; set; }

    /// <summary>USD per 1M tokens by model; configuration adds models or overrides these defaults.</summary>
    public Dictionary<string, ModelPrice> Prices { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["gpt-4o"] = new() { Input = 2.50m, CachedInput = 1.25m, Output = 10.00m },
        ["gpt-4o-mini"] = new() { Input = 0.15m, CachedInput = 0.075m, Output = 0.60m },
        ["gpt-4.1"] = new() { Input = 2.00m, CachedInput = 0.50m, Output = 8.00m },
        ["gpt-4.1-mini"] = new() { Input = 0.40m, CachedInput = 0.10m, Output = 1.60m },
        ["gpt-4.1-nano"] = new() { Input = 0.10m, CachedInput = 0.025m, Output = 0.40m },
        ["text-embedding-3-small"] = new() { Input = 0.02m, CachedInput = 0.02m, Output = 0m },
    };

    public bool Enabled => !string.IsNullOrWhiteSpace(ApiKey);

    public IReadOnlyList<string> Tiers => Models is { Length: > 0 } ? Models : DefaultModels;

    public IEnumerable<string> Problems()
    {
        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            yield return "Llm:Endpoint must be an http(s) URL, e.g. 'https://api.openai.com/v1' or 'http://localhost:11434/v1'.";
        }
        if (Tiers.Any(string.IsNullOrWhiteSpace))
        {
            yield return "Llm:Models must not contain empty names.";
        }
        if (MaxRetries is < 0 or > 10)
        {
            yield return "Llm:MaxRetries must be between 0 and 10.";
        }
        if (RetryBaseDelay <= TimeSpan.Zero || MaxRetryAfter < TimeSpan.Zero || RequestTimeout <= TimeSpan.Zero
            || BreakDuration < TimeSpan.FromMilliseconds(500))
        {
            yield return "Llm:RetryBaseDelay and Llm:RequestTimeout must be positive, Llm:BreakDuration at least 00:00:00.5.";
        }
        if (DailyBudgetUsd < 0)
        {
            yield return "Llm:DailyBudgetUsd must be >= 0 (0 = no budget).";
        }
        if (Prices.Values.Any(p => p is null || p.Input < 0 || p.CachedInput < 0 || p.Output < 0))
        {
            yield return "Llm:Prices must not be negative.";
        }
    }
}

/// <summary>Pure price arithmetic.</summary>
public static class Pricing
{
    /// <summary>Cached input is part of the input count and billed at its own rate. Unknown models cost 0.</summary>
    public static decimal Cost(IReadOnlyDictionary<string, ModelPrice> prices, string model, LlmUsage usage)
    {
        if (!prices.TryGetValue(model, out var price))
        {
            return 0m;
        }
        var uncached = Math.Max(0, usage.InputTokens - usage.CachedInputTokens);
        return (uncached * price.Input + usage.CachedInputTokens * price.CachedInput + usage.OutputTokens * price.Output)
            / 1_000_000m;
    }

    /// <summary>Usage counted locally, when the provider reports none: the prompt's chat tokens and the answer's.</summary>
    public static LlmUsage Counted(Tokenizer tokenizer, IEnumerable<ChatMessage> prompt, string answer) =>
        new(tokenizer.CountChatTokens(prompt), 0, tokenizer.CountTokens(answer));

    /// <summary>What context assembly saved: the tokens left out of the full history, at the model's input rate.</summary>
    public static decimal Saved(IReadOnlyDictionary<string, ModelPrice> prices, string model, long fullHistoryTokens, long tokensServed) =>
        Cost(prices, model, new LlmUsage((int)Math.Min(int.MaxValue, fullHistoryTokens - tokensServed), 0, 0));
}
