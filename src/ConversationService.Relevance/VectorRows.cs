using System.Numerics.Tensors;

namespace ConversationService.Relevance;

/// <summary>
/// The vectors of a fixed list of items as rows of contiguous blocks, with each row's norm computed once: cosine
/// with every item then streams through memory instead of chasing one array per item and computing its norm again
/// (at 100,000 chunks about a third of the time). Scores are bit for bit those of <see cref="Vectors.CosineAll"/>.
/// Immutable; combining reuses the blocks, as <see cref="Bm25Index.Combine"/> reuses postings.
/// </summary>
public sealed class VectorRows
{
    /// <summary>A run of items whose vectors share one length; a missing vector is a zero row with norm 0.</summary>
    private sealed record Block(int Start, int Count, int Dimensions, float[] Rows, float[] Norms);

    private readonly Block[] _blocks;

    public VectorRows(IReadOnlyList<float[]?> vectors)
    {
        var blocks = new List<Block>();
        var start = 0;
        while (start < vectors.Count)
        {
            var dimensions = -1;
            var end = start;
            for (; end < vectors.Count; end++)
            {
                if (vectors[end] is { } v)
                {
                    if (dimensions >= 0 && v.Length != dimensions)
                    {
                        break;
                    }
                    dimensions = v.Length;
                }
            }
            blocks.Add(Build(vectors, start, end - start, Math.Max(0, dimensions)));
            start = end;
        }
        _blocks = [.. blocks];
        Count = vectors.Count;
    }

    private VectorRows(Block[] blocks, int count)
    {
        _blocks = blocks;
        Count = count;
    }

    public int Count { get; }

    /// <summary>The memory the rows and norms take.</summary>
    public long Bytes => _blocks.Sum(b => 4L * (b.Rows.Length + b.Norms.Length));

    /// <summary>The rows of <paramref name="parts"/>, in that order, without copying them.</summary>
    public static VectorRows Combine(IReadOnlyList<VectorRows> parts)
    {
        var blocks = new List<Block>();
        var offset = 0;
        foreach (var part in parts)
        {
            blocks.AddRange(part._blocks.Select(b => b with { Start = offset + b.Start }));
            offset += part.Count;
        }
        return new([.. blocks], offset);
    }

    private static Block Build(IReadOnlyList<float[]?> vectors, int start, int count, int dimensions)
    {
        var rows = new float[count * dimensions];
        var norms = new float[count];
        for (var i = 0; i < count; i++)
        {
            if (vectors[start + i] is { } v)
            {
                v.CopyTo(rows, i * dimensions);
                norms[i] = TensorPrimitives.Norm(v);
            }
        }
        return new Block(start, count, dimensions, rows, norms);
    }

    /// <summary>Cosine of <paramref name="query"/> with every item; 0 where the item has no vector or one of another size.</summary>
    public void CosineAll(ReadOnlySpan<float> query, Span<float> into)
    {
        if (into.Length < Count)
        {
            throw new ArgumentException("One score per item.", nameof(into));
        }
        var queryNorm = TensorPrimitives.Norm(query);
        foreach (var block in _blocks)
        {
            var scores = into.Slice(block.Start, block.Count);
            if (queryNorm == 0 || block.Dimensions != query.Length)
            {
                scores.Clear();
                continue;
            }
            var rows = block.Rows.AsSpan();
            for (var i = 0; i < block.Count; i++)
            {
                var norm = block.Norms[i];
                scores[i] = norm > 0 ? TensorPrimitives.Dot(query, rows.Slice(i * block.Dimensions, block.Dimensions)) / (queryNorm * norm) : 0f;
            }
        }
    }

    /// <summary>Cosine of two items, as <see cref="Vectors.Cosine"/> of their vectors (0 when either is missing).</summary>
    public float Cosine(int a, int b)
    {
        var (blockA, rowA) = Find(a);
        var (blockB, rowB) = Find(b);
        var dimensions = blockA.Dimensions;
        if (dimensions == 0 || dimensions != blockB.Dimensions)
        {
            return 0f;
        }
        var denominator = blockA.Norms[rowA] * blockB.Norms[rowB];
        return denominator > 0
            ? TensorPrimitives.Dot(blockA.Rows.AsSpan(rowA * dimensions, dimensions), blockB.Rows.AsSpan(rowB * dimensions, dimensions)) / denominator
            : 0f;
    }

    private (Block Block, int Row) Find(int item)
    {
        foreach (var block in _blocks)
        {
            if (item < block.Start + block.Count)
            {
                return (block, item - block.Start);
            }
        }
        throw new ArgumentOutOfRangeException(nameof(item));
    }
}
