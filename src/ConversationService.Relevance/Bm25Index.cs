namespace ConversationService.Relevance;

/// <summary>
/// Okapi BM25 over a fixed set of documents. Immutable once built, so one index serves concurrent queries; a
/// conversation that grows gets a new index built from the cached term bags, which costs a few hundred
/// microseconds for a 600-turn conversation.
/// </summary>
public sealed class Bm25Index
{
    public const float K1 = 1.2f;
    public const float B = 0.75f;

    /// <summary>The postings of some documents, numbered from 0 within the part.</summary>
    private sealed record Part(Dictionary<string, (int Doc, int Count)[]> Postings, int[] Lengths, long TotalLength);

    // An index is a sequence of parts (documents numbered on across them); combining indexes reuses their parts.
    private readonly Part[] _parts;
    private readonly int[] _offsets;
    private readonly float _averageLength;

    public Bm25Index(IReadOnlyList<TermBag> documents) : this([Build(documents)])
    {
    }

    private Bm25Index(Part[] parts)
    {
        _parts = parts;
        _offsets = new int[parts.Length];
        long totalLength = 0;
        for (var p = 0; p < parts.Length; p++)
        {
            _offsets[p] = Count;
            Count += parts[p].Lengths.Length;
            totalLength += parts[p].TotalLength;
        }
        // Length normalization is computed per posting reached, not per document: a request that names a large
        // collection combines its index anew, and a query's postings are few.
        _averageLength = Count == 0 ? 1f : Math.Max(1f, (float)totalLength / Count);
    }

    /// <summary>
    /// One index over the documents of <paramref name="indexes"/>, in that order: the same scores as an index built
    /// from all their term bags, without building postings again (a cached knowledge collection joins a request's
    /// corpus at the cost of its document count).
    /// </summary>
    public static Bm25Index Combine(IReadOnlyList<Bm25Index> indexes) => new([.. indexes.SelectMany(i => i._parts)]);

    private static Part Build(IReadOnlyList<TermBag> documents)
    {
        var postings = new Dictionary<string, List<(int, int)>>(StringComparer.Ordinal);
        long totalLength = 0;
        for (var d = 0; d < documents.Count; d++)
        {
            var bag = documents[d];
            totalLength += bag.Length;
            for (var t = 0; t < bag.Terms.Count; t++)
            {
                if (!postings.TryGetValue(bag.Terms[t], out var list))
                {
                    postings[bag.Terms[t]] = list = [];
                }
                list.Add((d, bag.Counts[t]));
            }
        }
        return new Part(
            postings.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal),
            [.. documents.Select(d => d.Length)], totalLength);
    }

    public int Count { get; }

    /// <summary>How many documents hold <paramref name="term"/>.</summary>
    private int DocumentFrequency(string term)
    {
        var frequency = 0;
        foreach (var part in _parts)
        {
            frequency += part.Postings.TryGetValue(term, out var list) ? list.Length : 0;
        }
        return frequency;
    }

    /// <summary>Inverse document frequency, BM25+ style (never negative); 0 for a term no document has.</summary>
    public float Idf(string term) => DocumentFrequency(term) is var frequency and > 0
        ? MathF.Log(1f + (Count - frequency + 0.5f) / (frequency + 0.5f))
        : 0f;

    /// <summary>
    /// BM25 of every document for the query's distinct terms, each weighted by <paramref name="weights"/> when
    /// given; returns the score of an ideal document (each term saturated, absent terms at the rarest term's
    /// weight), so callers can put scores on an absolute 0..1 scale that does not depend on the other documents.
    /// </summary>
    public float Score(IReadOnlyList<string> query, Span<float> scores, IReadOnlyList<float>? weights = null)
    {
        if (scores.Length < Count)
        {
            throw new ArgumentException("One score per document.", nameof(scores));
        }
        scores[..Count].Clear();
        var ceiling = 0f;
        for (var q = 0; q < query.Count; q++)
        {
            var weight = weights?[q] ?? 1f;
            if (weight <= 0)
            {
                continue;
            }
            var frequency = DocumentFrequency(query[q]);
            if (frequency == 0)
            {
                // A term no document has still counts in the ceiling, as the rarest term would: a query that is
                // mostly about something absent must not look well matched by its one common word.
                ceiling += weight * MathF.Log(1f + (Count + 0.5f) / 0.5f) * (K1 + 1);
                continue;
            }
            var idf = weight * MathF.Log(1f + (Count - frequency + 0.5f) / (frequency + 0.5f));
            ceiling += idf * (K1 + 1);
            for (var p = 0; p < _parts.Length; p++)
            {
                if (!_parts[p].Postings.TryGetValue(query[q], out var list))
                {
                    continue;
                }
                var lengths = _parts[p].Lengths;
                foreach (var (doc, count) in list)
                {
                    var lengthNorm = K1 * (1 - B + B * lengths[doc] / _averageLength);
                    scores[_offsets[p] + doc] += idf * count * (K1 + 1) / (count + lengthNorm);
                }
            }
        }
        return ceiling;
    }
}
