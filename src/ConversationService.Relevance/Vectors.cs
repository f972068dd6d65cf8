using System.Numerics.Tensors;

namespace ConversationService.Relevance;

/// <summary>Vector similarity on SIMD through System.Numerics.Tensors.</summary>
public static class Vectors
{
    /// <summary>Cosine similarity; 0 when either vector is missing, empty, of another size or all zeros.</summary>
    public static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length == 0 || a.Length != b.Length)
        {
            return 0f;
        }
        var denominator = TensorPrimitives.Norm(a) * TensorPrimitives.Norm(b);
        return denominator > 0 ? TensorPrimitives.Dot(a, b) / denominator : 0f;
    }

    /// <summary>
    /// Cosine of <paramref name="query"/> with every item; items without a vector get 0. <paramref name="norms"/>, when
    /// given, holds each item's <see cref="TensorPrimitives.Norm{T}(ReadOnlySpan{T})"/>, computed once by a caller that
    /// ranks the same items again and again.
    /// </summary>
    public static void CosineAll(
        ReadOnlySpan<float> query, IReadOnlyList<float[]?> items, Span<float> into, IReadOnlyList<float>? norms = null)
    {
        var queryNorm = TensorPrimitives.Norm(query);
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            if (queryNorm == 0 || item is null || item.Length != query.Length)
            {
                into[i] = 0f;
                continue;
            }
            var norm = norms?[i] ?? TensorPrimitives.Norm(item);
            into[i] = norm > 0 ? TensorPrimitives.Dot(query, item) / (queryNorm * norm) : 0f;
        }
    }
}
