using ConversationService.Tokenizers;
using Microsoft.Extensions.AI;

namespace ConversationService.Embeddings;

/// <summary>
/// The outermost step of the provider's embedding pipeline: texts over <see cref="EmbeddingOptions.MaxInputTokens"/>
/// are cut at a token boundary, and when the provider reports no input tokens the sent texts are counted locally, so
/// <see cref="GeneratedEmbeddings{T}.Usage"/> always carries the tokens the caller records and prices.
/// </summary>
public sealed class InputTokenLimit
{
    private readonly Microsoft.ML.Tokenizers.Tokenizer _tokenizer;
    private readonly int _maxInputTokens;

    public InputTokenLimit(EmbeddingOptions options)
    {
        // OpenAI's embedding models count in cl100k_base; other providers' counts are an estimate either way.
        var model = options.EffectiveModel;
        _tokenizer = ExactTiktokenTokenizer.CreateForModel(
            ExactTiktokenTokenizer.TryGetEncodingForModel(model, out _) ? model : EmbeddingOptions.DefaultOpenAiModel);
        _maxInputTokens = options.MaxInputTokens;
    }

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options, IEmbeddingGenerator<string, Embedding<float>> inner,
        CancellationToken cancellationToken)
    {
        var inputs = values.Select(Cut).ToList();
        var embeddings = await inner.GenerateAsync(inputs, options, cancellationToken);
        if (embeddings.Usage?.InputTokenCount is not > 0)
        {
            long tokens = inputs.Sum(input => _tokenizer.CountTokens(input));
            embeddings.Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens };
        }
        return embeddings;
    }

    // Tokens never outnumber UTF-8 bytes, so only texts longer than the limit in bytes need counting.
    private string Cut(string text) =>
        System.Text.Encoding.UTF8.GetByteCount(text) <= _maxInputTokens
            ? text
            : text[.._tokenizer.GetIndexByTokenCount(text, _maxInputTokens, out _, out _)];
}
