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

    private readonly Dictionary<string, (int Doc, int Count)[]> _postings;
    private readonly float[] _lengthNorm;

    public Bm25Index(IReadOnlyList<TermBag> documents)
    {
        Count = documents.Count;
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
        _postings = postings.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal);
        var average = documents.Count == 0 ? 1f : Math.Max(1f, (float)totalLength / documents.Count);
        _lengthNorm = documents.Select(d => K1 * (1 - B + B * d.Length / average)).ToArray();
    }

    public int Count { get; }

    /// <summary>Inverse document frequency, BM25+ style (never negative); 0 for a term no document has.</summary>
    public float Idf(string term) =>
        _postings.TryGetValue(term, out var list)
            ? MathF.Log(1f + (Count - list.Length + 0.5f) / (list.Length + 0.5f))
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
            if (!_postings.TryGetValue(query[q], out var list))
            {
                // A term no document has still counts in the ceiling, as the rarest term would: a query that is
                // mostly about something absent must not look well matched by its one common word.
                ceiling += weight * MathF.Log(1f + (Count + 0.5f) / 0.5f) * (K1 + 1);
                continue;
            }
            var idf = weight * MathF.Log(1f + (Count - list.Length + 0.5f) / (list.Length + 0.5f));
            ceiling += idf * (K1 + 1);
            foreach (var (doc, count) in list)
            {
                scores[doc] += idf * count * (K1 + 1) / (count + _lengthNorm[doc]);
            }
        }
        return ceiling;
    }
}
