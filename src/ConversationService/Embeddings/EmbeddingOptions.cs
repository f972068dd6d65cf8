using ConversationService.Relevance;
using ConversationService.Usage;

namespace ConversationService.Embeddings;

/// <summary>
/// Section <c>Embeddings</c>. The local model (<c>model</c>, snowflake-arctic-embed-xs in process) is the default, so
/// the service runs with no key and no network; <c>lexical</c> is the feature-hashing embedder (word overlap, what the
/// service falls back to when the model cannot load); <c>openai</c> uses <c>Llm:Endpoint</c> and <c>Llm:ApiKey</c>
/// (any OpenAI-compatible endpoint).
/// </summary>
public sealed class EmbeddingOptions
{
    public const string LocalModel = "model";
    public const string Lexical = "lexical";
    public const string OpenAi = "openai";
    public const string DefaultOpenAiModel = "text-embedding-3-small";

    public string Provider { get; set; } = LocalModel;

    /// <summary>openai: the provider's model, default <c>text-embedding-3-small</c>; the others have one model each.</summary>
    public string? Model { get; set; }

    /// <summary>openai: the <c>dimensions</c> request field (the model's own when unset); lexical: hash buckets (1024).</summary>
    public int? Dimensions { get; set; }

    /// <summary>Texts per provider call from the background projection.</summary>
    public int BatchSize { get; set; } = 128;

    /// <summary>openai: longer texts are cut at a token boundary before embedding (8,191 is OpenAI's per-input limit).</summary>
    public int MaxInputTokens { get; set; } = 8_191;

    /// <summary>The query is embedded on the request path: past this the context falls back to lexical ranking.</summary>
    public TimeSpan QueryTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Vectors kept in memory (least recently used go first).</summary>
    public int CacheMegabytes { get; set; } = 256;

    public bool IsOpenAi => Is(OpenAi);

    public bool IsLocalModel => Is(LocalModel);

    public bool IsLexical => Is(Lexical);

    private bool Is(string provider) => string.Equals(Provider, provider, StringComparison.OrdinalIgnoreCase);

    public string EffectiveModel => IsOpenAi ? Model is { Length: > 0 } name ? name : DefaultOpenAiModel
        : IsLocalModel ? ArcticModel.Id : LexicalEmbeddingGenerator.ModelId;

    /// <summary>
    /// The key vectors are stored under: vectors of other dimensions are other vectors, so a changed setting
    /// re-embeds instead of mixing sizes.
    /// </summary>
    public string StorageModelId =>
        Dimensions is { } d && (IsOpenAi || (IsLexical && d != LexicalEmbeddingGenerator.DefaultDimensions)) ? $"{EffectiveModel}@{d}" : EffectiveModel;

    public IEnumerable<string> Problems(LlmOptions llm)
    {
        if (!IsLocalModel && !IsLexical && !IsOpenAi)
        {
            yield return $"Embeddings:Provider must be '{LocalModel}', '{Lexical}' or '{OpenAi}'.";
        }
        if (IsOpenAi && !llm.Enabled)
        {
            yield return "Embeddings:Provider is 'openai' but Llm:ApiKey is not set; set the key (env Llm__ApiKey) or use Embeddings:Provider=model or lexical.";
        }
        if (!IsOpenAi && Model is { Length: > 0 } && Model != EffectiveModel)
        {
            yield return $"Embeddings:Model applies to the openai provider; the {Provider} provider is always '{EffectiveModel}'.";
        }
        if (Dimensions is { } d && (IsOpenAi ? d is < 1 or > 4_096 : IsLexical ? d is < 64 or > 8_192 : d != ArcticModel.Dimensions))
        {
            yield return IsOpenAi ? "Embeddings:Dimensions must be between 1 and 4096 (or unset for the model's own)."
                : IsLexical ? "Embeddings:Dimensions must be between 64 and 8192 for the lexical provider (default 1024)."
                : $"Embeddings:Dimensions is {ArcticModel.Dimensions} for the local model (or unset).";
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
