namespace ConversationService.Tokenizers;

/// <summary>One chat message as counted by OpenAI's chat format.</summary>
public readonly record struct ChatMessage(string Role, string Content, string? Name = null);

/// <summary>
/// tiktoken-compatible byte-pair-encoding tokenizer (o200k_base, cl100k_base), shaped like
/// Microsoft.ML.Tokenizers' TiktokenTokenizer. Immutable and thread-safe; one shared instance per encoding.
/// </summary>
public sealed class TiktokenTokenizer
{
    /// <summary>Encoding name: <c>o200k_base</c> or <c>cl100k_base</c>.</summary>
    public string EncodingName => throw new NotImplementedException();

    /// <summary>Throws <see cref="NotSupportedException"/> listing the supported model families for an unknown model.</summary>
    public static TiktokenTokenizer CreateForModel(string model) => throw new NotImplementedException();

    /// <summary>Returns false for an unknown model instead of throwing.</summary>
    public static bool TryGetEncodingForModel(string model, out string encodingName) => throw new NotImplementedException();

    /// <summary>Human-readable list of supported model families, for error messages.</summary>
    public static string SupportedModelsDescription => throw new NotImplementedException();

    public static TiktokenTokenizer CreateForEncoding(string encodingName) => throw new NotImplementedException();

    public int CountTokens(string text) => throw new NotImplementedException();

    public int CountTokens(ReadOnlySpan<char> text) => throw new NotImplementedException();

    public IReadOnlyList<int> EncodeToIds(string text) => throw new NotImplementedException();

    public string Decode(IEnumerable<int> ids) => throw new NotImplementedException();

    /// <summary>
    /// Like Microsoft.ML.Tokenizers' GetIndexByTokenCount: the char index at which the text must be cut so that
    /// text[..index] encodes to at most <paramref name="maxTokenCount"/> tokens; <paramref name="tokenCount"/> receives that count.
    /// </summary>
    public int GetIndexByTokenCount(string text, int maxTokenCount, out int tokenCount) => throw new NotImplementedException();

    /// <summary>Prompt tokens of a chat request: per message 3 + role + content (+ name + 1), plus 3 for reply priming.</summary>
    public int CountChatTokens(IEnumerable<ChatMessage> messages) => throw new NotImplementedException();

    /// <summary>Tokens one message adds to a chat prompt (without the 3 of reply priming).</summary>
    public int CountMessageTokens(string role, string content, string? name = null) => throw new NotImplementedException();
}
