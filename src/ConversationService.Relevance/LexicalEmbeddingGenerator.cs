using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.Extensions.AI;

namespace ConversationService.Relevance;

/// <summary>
/// The offline embedder: a signed feature-hashing projection of a text's terms and adjacent-term pairs, weighted
/// by sub-linear term frequency and L2-normalized, so a dot product is a cosine of bag-of-words vectors.
/// Deterministic, in process, no model download; it captures word overlap, not meaning, which is what the
/// service needs when no embedding provider is configured.
/// </summary>
public sealed class LexicalEmbeddingGenerator(int dimensions = LexicalEmbeddingGenerator.DefaultDimensions)
    : IEmbeddingGenerator<string, Embedding<float>>
{
    public const int DefaultDimensions = 1024;
    public const string ModelId = "lexical-hash-v2";
    private const float PairWeight = 0.5f;

    // Character trigrams let inflections and typos the stemmer misses still meet ("destress", "stressed").
    private const float TrigramWeight = 0.5f;

    private readonly EmbeddingGeneratorMetadata _metadata = new("conversation-service-lexical", null, ModelId, dimensions);

    public int Dimensions { get; } = dimensions >= 64
        ? dimensions
        : throw new ArgumentOutOfRangeException(nameof(dimensions), "At least 64 dimensions.");

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var embeddings = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var value in values)
        {
            cancellationToken.ThrowIfCancellationRequested();
            embeddings.Add(new Embedding<float>(Embed(value)) { ModelId = ModelId, CreatedAt = null });
        }
        return Task.FromResult(embeddings);
    }

    public float[] Embed(string text)
    {
        var vector = new float[Dimensions];
        var terms = Terms.Extract(text);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var term in terms)
        {
            CollectionsMarshal.GetValueRefOrAddDefault(counts, term, out _)++;
        }
        foreach (var (term, count) in counts)
        {
            Add(vector, term, 1f + MathF.Log(count));
        }
        {
            foreach (var (term, count) in counts)
            {
                var padded = "<" + term + ">";
                for (var i = 0; i + 3 <= padded.Length; i++)
                {
                    Add(vector, string.Concat("#", padded.AsSpan(i, 3)), TrigramWeight * (1f + MathF.Log(count)));
                }
            }
        }
        for (var i = 1; i < terms.Count; i++)
        {
            Add(vector, terms[i - 1] + " " + terms[i], PairWeight);
        }
        var norm = TensorPrimitives.Norm(vector);
        if (norm > 0)
        {
            TensorPrimitives.Divide(vector, norm, vector);
        }
        return vector;
    }

    private static void Add(float[] vector, string feature, float weight)
    {
        var hash = Fnv1a(feature);
        var bucket = (int)(hash % (ulong)vector.Length);
        vector[bucket] += (hash >> 63) == 0 ? weight : -weight;
    }

    /// <summary>FNV-1a over UTF-16 code units, finished with a multiply-xorshift so the top bit (the sign) mixes too.</summary>
    private static ulong Fnv1a(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }
        hash ^= hash >> 33;
        hash *= 0xff51afd7ed558ccdUL;
        return hash ^ (hash >> 33);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }
}
