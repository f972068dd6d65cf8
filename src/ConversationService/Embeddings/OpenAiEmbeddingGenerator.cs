using System.ClientModel;
using System.Text;
using ConversationService.Summaries;
using ConversationService.Tokenizers;
using ConversationService.Usage;
using Microsoft.Extensions.AI;
using OpenAI.Embeddings;
using Polly;

namespace ConversationService.Embeddings;

/// <summary>
/// Embeddings from an OpenAI-compatible endpoint through the SDK's <see cref="EmbeddingClient"/>, behind the same
/// retries (Retry-After honoured), circuit breaker and per-attempt timeout as summaries. Texts over
/// <see cref="EmbeddingOptions.MaxInputTokens"/> are cut at a token boundary. <see cref="GeneratedEmbeddings{T}.Usage"/>
/// carries the provider's input tokens, or the local count when it sends none, so the caller can record the cost.
/// </summary>
public sealed class OpenAiEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly EmbeddingClient _client;
    private readonly OpenAI.Embeddings.EmbeddingGenerationOptions _settings;
    private readonly ResiliencePipeline _pipeline;
    private readonly Microsoft.ML.Tokenizers.Tokenizer _tokenizer;
    private readonly int _maxInputTokens;
    private readonly EmbeddingGeneratorMetadata _metadata;

    public OpenAiEmbeddingGenerator(EmbeddingOptions options, LlmOptions llm, TimeProvider time)
    {
        var model = options.EffectiveModel;
        _client = new EmbeddingClient(
            model,
            new ApiKeyCredential(llm.ApiKey ?? throw new InvalidOperationException("Llm:ApiKey is not set.")),
            LlmResilience.ClientOptions(llm));
        _settings = new OpenAI.Embeddings.EmbeddingGenerationOptions { Dimensions = options.Dimensions };
        // A breaker of its own: an embedding outage must not stop summaries, nor the other way round.
        _pipeline = LlmResilience.Build(llm, time);
        // OpenAI's embedding models count in cl100k_base; other providers' counts are an estimate either way.
        _tokenizer = ExactTiktokenTokenizer.CreateForModel(
            ExactTiktokenTokenizer.TryGetEncodingForModel(model, out _) ? model : EmbeddingOptions.DefaultOpenAiModel);
        _maxInputTokens = options.MaxInputTokens;
        _metadata = new EmbeddingGeneratorMetadata("openai", new Uri(llm.Endpoint), model, options.Dimensions);
    }

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, Microsoft.Extensions.AI.EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var inputs = values.Select(Cut).ToList();
        var result = await _pipeline.ExecuteAsync(
            async token => (await _client.GenerateEmbeddingsAsync(inputs, _settings, token)).Value, cancellationToken);
        if (result.Count != inputs.Count)
        {
            throw new InvalidOperationException($"The provider returned {result.Count} embeddings for {inputs.Count} inputs.");
        }
        var embeddings = new GeneratedEmbeddings<Embedding<float>>(
            result.OrderBy(e => e.Index).Select(e => new Embedding<float>(e.ToFloats()) { ModelId = result.Model }));
        long tokens = result.Usage?.InputTokenCount is > 0 and var reported ? reported : inputs.Sum(input => _tokenizer.CountTokens(input));
        embeddings.Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens };
        return embeddings;
    }

    // Tokens never outnumber UTF-8 bytes, so only texts longer than the limit in bytes need counting.
    private string Cut(string text) =>
        Encoding.UTF8.GetByteCount(text) <= _maxInputTokens
            ? text
            : text[.._tokenizer.GetIndexByTokenCount(text, _maxInputTokens, out _, out _)];

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }
}
