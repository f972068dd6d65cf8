using ConversationService.Relevance;
using ConversationService.Usage;

namespace ConversationService.Embeddings;

/// <summary>
/// Section <c>Embeddings</c>. The offline provider (feature hashing, in process) is the default so the service runs
/// with no key; <c>openai</c> uses <c>Llm:Endpoint</c> and <c>Llm:ApiKey</c> (any OpenAI-compatible endpoint).
/// </summary>
public sealed class EmbeddingOptions
{
    public const string Offline = "offline";
    public const string OpenAi = "openai";
    public const string DefaultOpenAiModel = "text-embedding-3-small";

    public string Provider { get; set; } = Offline;

    /// <summary>Provider model; default <c>text-embedding-3-small</c> (openai) or <c>lexical-hash-v2</c> (offline).</summary>
    public string? Model { get; set; }

    /// <summary>openai: the <c>dimensions</c> request field (the model's own when unset); offline: hash buckets (1024).</summary>
    public int? Dimensions { get; set; }

    /// <summary>Texts per provider call from the background projection.</summary>
    public int BatchSize { get; set; } = 128;

    /// <summary>Longer texts are cut at a token boundary before embedding (8,191 is OpenAI's per-input limit).</summary>
    public int MaxInputTokens { get; set; } = 8_191;

    /// <summary>The query is embedded on the request path: past this the context falls back to lexical ranking.</summary>
    public TimeSpan QueryTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Vectors kept in memory (least recently used go first).</summary>
    public int CacheMegabytes { get; set; } = 256;

    public bool IsOpenAi => string.Equals(Provider, OpenAi, StringComparison.OrdinalIgnoreCase);

    public string EffectiveModel => Model is { Length: > 0 } model ? model
        : IsOpenAi ? DefaultOpenAiModel : LexicalEmbeddingGenerator.ModelId;

    /// <summary>
    /// The key vectors are stored under: vectors of other dimensions are other vectors, so a changed setting
    /// re-embeds instead of mixing sizes.
    /// </summary>
    public string StorageModelId =>
        Dimensions is { } d && (IsOpenAi || d != LexicalEmbeddingGenerator.DefaultDimensions) ? $"{EffectiveModel}@{d}" : EffectiveModel;

    public IEnumerable<string> Problems(LlmOptions llm)
    {
        if (!string.Equals(Provider, Offline, StringComparison.OrdinalIgnoreCase) && !IsOpenAi)
        {
            yield return $"Embeddings:Provider must be '{Offline}' or '{OpenAi}'.";
        }
        if (IsOpenAi && !llm.Enabled)
        {
            yield return "Embeddings:Provider is 'openai' but Llm:ApiKey is not set; set the key (env Llm__ApiKey) or use Embeddings:Provider=offline.";
        }
        if (!IsOpenAi && Model is { Length: > 0 } && Model != LexicalEmbeddingGenerator.ModelId)
        {
            yield return $"Embeddings:Model applies to the openai provider; the offline provider is always '{LexicalEmbeddingGenerator.ModelId}'.";
        }
        if (Dimensions is { } d && (IsOpenAi ? d is < 1 or > 4_096 : d is < 64 or > 8_192))
        {
            yield return IsOpenAi
                ? "Embeddings:Dimensions must be between 1 and 4096 (or unset for the model's own)."
                : "Embeddings:Dimensions must be between 64 and 8192 for the offline provider (default 1024).";
        }
        if (BatchSize is < 1 or > 2_048)
        {
            yield return "Embeddings:BatchSize must be between 1 and 2048.";
        }
        if (MaxInputTokens is < 16 or > 1_000_000)
        {
            yield return "Embeddings:MaxInputTokens must be between 16 and 1000000.";
        }
        if (QueryTimeout <= TimeSpan.Zero || QueryTimeout > TimeSpan.FromMinutes(1))
        {
            yield return "Embeddings:QueryTimeout must be between 00:00:00.001 and 00:01:00.";
        }
        if (CacheMegabytes is < 1 or > 65_536)
        {
            yield return "Embeddings:CacheMegabytes must be between 1 and 65536.";
        }
    }
}
