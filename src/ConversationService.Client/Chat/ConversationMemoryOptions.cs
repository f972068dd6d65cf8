namespace ConversationService.Client.Chat;

/// <summary>How <see cref="ConversationMemoryChatClient"/> builds each call's context.</summary>
public sealed class ConversationMemoryOptions
{
    /// <summary>The conversation of a call without <c>ChatOptions.ConversationId</c>; without either a call passes through.</summary>
    public string? ConversationId { get; set; }

    /// <summary>The model's context window in tokens: the budget of each call's prompt and answer together.</summary>
    public int ContextWindow { get; set; } = 8_000;

    /// <summary>Tokens kept free for the answer: the prompt gets at most ContextWindow - ReserveTokens.</summary>
    public int ReserveTokens { get; set; } = 1_000;

    /// <summary>
    /// The model whose tokenizer counts the budget (gpt-4o, gpt-4, ...). Default: <c>ChatOptions.ModelId</c>, else the
    /// inner client's default model, else gpt-4o.
    /// </summary>
    public string? Model { get; set; }

    /// <summary>Knowledge collections whose relevant chunks join the context.</summary>
    public IReadOnlyList<string> Collections { get; set; } = [];

    /// <summary>The few-shot task whose most similar examples join the context (up to <see cref="Examples"/>).</summary>
    public string? Task { get; set; }

    public int Examples { get; set; }

    /// <summary>
    /// When the service cannot be reached (or fails), pass the messages through unchanged and skip remembering, with a
    /// warning, instead of failing the chat call. Answers of 4xx (a bad request) are thrown either way.
    /// </summary>
    public bool PassThroughWhenUnavailable { get; set; } = true;
}
