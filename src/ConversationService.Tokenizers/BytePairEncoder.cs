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
    // per-part version discards entries whose pair has changed since they were pushed.
    private static int MergeWithHeap(Vocabulary vocabulary, ReadOnlySpan<byte> piece, Span<int> bounds)
    {
        var n = piece.Length;
        var next = new int[n];
        var prev = new int[n];
        var version = new int[n];
        var alive = new bool[n];
        var heap = new PriorityQueue<(int Part, int Version), long>(n);
        for (var i = 0; i < n; i++)
        {
            next[i] = i + 1;
            prev[i] = i - 1;
            alive[i] = true;
        }

        for (var i = 0; i + 1 < n; i++)
        {
            Push(vocabulary, piece, heap, next, version, i);
        }

        while (heap.TryDequeue(out var entry, out _))
        {
            var part = entry.Part;
            if (!alive[part] || version[part] != entry.Version)
            {
                continue;
            }

            var right = next[part];
            alive[right] = false;
            next[part] = next[right];
            if (next[right] < n)
            {
                prev[next[right]] = part;
            }

            version[part]++;
            Push(vocabulary, piece, heap, next, version, part);
            if (prev[part] >= 0)
            {
                version[prev[part]]++;
                Push(vocabulary, piece, heap, next, version, prev[part]);
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

    private static void Push(Vocabulary vocabulary, ReadOnlySpan<byte> piece, PriorityQueue<(int Part, int Version), long> heap, int[] next, int[] version, int part)
    {
        if (next[part] >= piece.Length)
        {
            return;
        }

        var rank = vocabulary.Rank(piece[part..next[next[part]]]);
        if (rank != Vocabulary.NotFound)
        {
            heap.Enqueue((part, version[part]), ((long)rank << 32) | (uint)part);
        }
    }
}
