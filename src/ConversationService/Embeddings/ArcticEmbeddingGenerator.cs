using Microsoft.Extensions.AI;

namespace ConversationService.Embeddings;

/// <summary>
/// The local model behind <see cref="IEmbeddingGenerator{TInput,TEmbedding}"/>. Inputs are embedded as documents;
/// options from <see cref="EmbeddingPurpose.Query"/> make them queries, which Arctic reads with its query prefix (without
/// it, retrieval is worse than BM25). Inputs are sorted by length and batched, since a batch pads to its longest; at most
/// <paramref name="concurrency"/> batches run at once, each on one thread.
/// </summary>
public sealed class ArcticEmbeddingGenerator(ArcticModel model, int concurrency) : IEmbeddingGenerator<string, Embedding<float>>
{
    public const string QueryPrefix = "Represent this sentence for searching relevant passages: ";
    public const int MaxBatchRows = 32;

    /// <summary>Rows × padded width per batch: bounds the attention's memory when inputs are long.</summary>
    public const int MaxBatchTokens = 4_096;

    private readonly SemaphoreSlim _slots = new(concurrency, concurrency);
    private readonly EmbeddingGeneratorMetadata _metadata = new("conversation-service-onnx", null, ArcticModel.Id, ArcticModel.Dimensions);

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var prefix = EmbeddingPurpose.IsQuery(options) ? QueryPrefix : "";
        var ids = values.Select(v => model.Tokenize(prefix + v)).ToArray();
        var vectors = new float[ids.Length][];
        foreach (var batch in Batches(ids))
        {
            await _slots.WaitAsync(cancellationToken);
            try
            {
                var embedded = model.Embed([.. batch.Select(i => ids[i])], cancellationToken);
                for (var k = 0; k < batch.Count; k++)
                {
                    vectors[batch[k]] = embedded[k];
                }
            }
            finally
            {
                _slots.Release();
            }
        }
        return [.. vectors.Select(v => new Embedding<float>(v) { ModelId = ArcticModel.Id })];
    }

    /// <summary>Positions by token count, cut into batches of at most <see cref="MaxBatchRows"/> and <see cref="MaxBatchTokens"/>.</summary>
    public static List<List<int>> Batches(IReadOnlyList<IReadOnlyList<int>> ids)
    {
        var batches = new List<List<int>>();
        var current = new List<int>();
        foreach (var i in Enumerable.Range(0, ids.Count).OrderBy(i => ids[i].Count))
        {
            // Sorted ascending, so this input is the batch's longest: the padded size is rows × its length.
            if (current.Count == MaxBatchRows || (current.Count + 1) * ids[i].Count > MaxBatchTokens)
            {
                batches.Add(current);
                current = [];
            }
            current.Add(i);
        }
        if (current.Count > 0)
        {
            batches.Add(current);
        }
        return batches;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : null;

    /// <summary>The model is the process's (<see cref="ArcticModel.Packaged"/>) and outlives this generator.</summary>
    public void Dispose() => _slots.Dispose();
}

/// <summary>
/// What a text is embedded for, for models that embed queries and documents differently: a query sets
/// <c>AdditionalProperties["input_type"] = "query"</c> (the name Cohere's and Voyage's APIs use); anything else is a
/// document. Symmetric models ignore it.
/// </summary>
public static class EmbeddingPurpose
{
    public const string Key = "input_type";
    public const string QueryValue = "query";

    public static EmbeddingGenerationOptions Query() => new() { AdditionalProperties = new() { [Key] = QueryValue } };

    public static bool IsQuery(EmbeddingGenerationOptions? options) =>
        options?.AdditionalProperties?.TryGetValue(Key, out var value) == true && value is QueryValue;
}
