namespace ConversationService.Usage;

/// <summary>Tokens of one LLM call as the provider reported them (counted locally when it did not).</summary>
public sealed record LlmUsage(int InputTokens, int CachedInputTokens, int OutputTokens)
{
    public static readonly LlmUsage None = new(0, 0, 0);
}
