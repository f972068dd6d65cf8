using System.Buffers;

namespace ConversationService.Tokenizers;

/// <summary>
/// tiktoken's merge rule: repeatedly join the adjacent pair whose concatenation has the lowest rank (leftmost on
/// ties) until no pair is in the vocabulary. Results are part boundaries: part k is piece[bounds[k]..bounds[k+1]].
/// </summary>
internal static class BytePairEncoder
{
    // Above this the quadratic scan is replaced by a heap, so a megabyte of one repeated character stays linearithmic.
    public const int MaxQuadraticLength = 256;

    /// <summary>Fills <paramref name="bounds"/> (length >= piece.Length + 1) and returns the number of parts.</summary>
    public static int Merge(Vocabulary vocabulary, ReadOnlySpan<byte> piece, Span<int> bounds)
    {
        return piece.Length <= MaxQuadraticLength
            ? MergeQuadratic(vocabulary, piece, bounds)
            : MergeWithHeap(vocabulary, piece, bounds);
    }

    private static int MergeQuadratic(Vocabulary vocabulary, ReadOnlySpan<byte> piece, Span<int> bounds)
    {
        var parts = piece.Length;
        Span<int> ranks = stackalloc int[Math.Max(parts, 1)]; // ranks[i]: rank of parts i and i + 1 joined
        for (var i = 0; i <= parts; i++)
        {
            bounds[i] = i;
        }

        for (var i = 0; i + 1 < parts; i++)
        {
            ranks[i] = vocabulary.Rank(piece.Slice(i, 2));
        }

        while (parts > 1)
        {
            var best = Vocabulary.NotFound;
            var at = -1;
            for (var i = 0; i + 1 < parts; i++)
            {
                if (ranks[i] < best)
                {
                    best = ranks[i];
                    at = i;
                }
            }

            if (at < 0)
            {
                break;
            }

            bounds.Slice(at + 2, parts - at - 1).CopyTo(bounds[(at + 1)..]);
            if (at + 3 < parts)
            {
                ranks.Slice(at + 2, parts - at - 3).CopyTo(ranks[(at + 1)..]);
            }

            parts--;
            ranks[at] = at + 1 < parts ? vocabulary.Rank(piece[bounds[at]..bounds[at + 2]]) : Vocabulary.NotFound;
            if (at > 0)
            {
                ranks[at - 1] = vocabulary.Rank(piece[bounds[at - 1]..bounds[at + 1]]);
            }
        }

        return parts;
    }

    // Parts form a linked list; the heap holds (rank, start) of candidate pairs keyed by their left part, and a
    // per-part version discards entries whose pair has changed since they were pushed (-1 marks a merged-away part).
    // All working memory is pooled, so even a megabyte of one repeated character does not allocate.
    private static int MergeWithHeap(Vocabulary vocabulary, ReadOnlySpan<byte> piece, Span<int> bounds)
    {
        var n = piece.Length;
        var next = ArrayPool<int>.Shared.Rent(n);
        var prev = ArrayPool<int>.Shared.Rent(n);
        var version = ArrayPool<int>.Shared.Rent(n);
        var heap = new PairHeap(3 * n); // n - 1 initial candidates plus at most two per merge
        try
        {
            for (var i = 0; i < n; i++)
            {
                next[i] = i + 1;
                prev[i] = i - 1;
                version[i] = 0;
            }

            for (var i = 0; i + 1 < n; i++)
            {
                Push(vocabulary, piece, ref heap, next, version, i);
            }

            while (heap.TryPop(out var key, out var entryVersion))
            {
                var part = (int)(uint)key;
                if (version[part] != entryVersion)
                {
                    continue;
                }

                var right = next[part];
                version[right] = -1;
                next[part] = next[right];
                if (next[right] < n)
                {
                    prev[next[right]] = part;
                }

                version[part]++;
                Push(vocabulary, piece, ref heap, next, version, part);
                if (prev[part] >= 0)
                {
                    version[prev[part]]++;
                    Push(vocabulary, piece, ref heap, next, version, prev[part]);
                }
            }

            var count = 0;
            for (var part = 0; part < n; part = next[part])
            {
                bounds[count++] = part;
            }

            bounds[count] = n;
            return count;
        }
        finally
        {
            heap.Dispose();
            ArrayPool<int>.Shared.Return(version);
            ArrayPool<int>.Shared.Return(prev);
            ArrayPool<int>.Shared.Return(next);
        }
    }

    private static void Push(Vocabulary vocabulary, ReadOnlySpan<byte> piece, ref PairHeap heap, int[] next, int[] version, int part)
    {
        if (next[part] >= piece.Length)
        {
            return;
        }

        var rank = vocabulary.Rank(piece[part..next[next[part]]]);
        if (rank != Vocabulary.NotFound)
        {
            heap.Push(((long)rank << 32) | (uint)part, version[part]);
        }
    }

    /// <summary>Binary min-heap of (rank, start) keys with the version each was pushed at, on pooled arrays.</summary>
    private struct PairHeap(int capacity) : IDisposable
    {
        private readonly long[] _keys = ArrayPool<long>.Shared.Rent(capacity);
        private readonly int[] _versions = ArrayPool<int>.Shared.Rent(capacity);
        private int _count;

        public void Push(long key, int version)
        {
            var i = _count++;
            while (i > 0)
            {
                var parent = (i - 1) >> 1;
                if (_keys[parent] <= key)
                {
                    break;
                }

                _keys[i] = _keys[parent];
                _versions[i] = _versions[parent];
                i = parent;
            }

            _keys[i] = key;
            _versions[i] = version;
        }

        public bool TryPop(out long key, out int version)
        {
            if (_count == 0)
            {
                key = 0;
                version = 0;
                return false;
            }

            key = _keys[0];
            version = _versions[0];
            var lastKey = _keys[--_count];
            var lastVersion = _versions[_count];
            var i = 0;
            while (true)
            {
                var child = (2 * i) + 1;
                if (child >= _count)
                {
                    break;
                }

                if (child + 1 < _count && _keys[child + 1] < _keys[child])
                {
                    child++;
                }

                if (_keys[child] >= lastKey)
                {
                    break;
                }

                _keys[i] = _keys[child];
                _versions[i] = _versions[child];
                i = child;
            }

            _keys[i] = lastKey;
            _versions[i] = lastVersion;
            return true;
        }

        public readonly void Dispose()
        {
            ArrayPool<int>.Shared.Return(_versions);
            ArrayPool<long>.Shared.Return(_keys);
        }
    }
}
