namespace ConversationService.Relevance;

/// <summary>
/// Shortens a text to the sentences that carry the query's terms, so a long item costs only its relevant part.
/// Cuts only between sentences; elided stretches are marked with an ellipsis.
/// </summary>
public static class Excerpts
{
    /// <summary>A sentence is kept when its query-term weight reaches this share of the best sentence's.</summary>
    public const float KeepFraction = 0.5f;

    /// <summary>Sentence spans: ends at . ! ? followed by a space, and before a bracketed aside such as "[shares a photo: …]".</summary>
    public static List<Range> Sentences(string text)
    {
        var spans = new List<Range>();
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var end = -1;
            if (text[i] is '.' or '!' or '?' && i + 1 < text.Length && text[i + 1] == ' ')
            {
                end = i + 1;
            }
            else if (text[i] == '[' && i > start)
            {
                end = i;
            }
            if (end > start)
            {
                Add(spans, text, start, end);
                start = end;
            }
        }
        Add(spans, text, start, text.Length);
        return spans;
    }

    /// <summary>
    /// The sentences whose query-term weight is at least half the best sentence's, in their order, joined by an
    /// ellipsis where sentences were left out; the first sentence when none holds a query term. The whole text
    /// when it is a single sentence.
    /// </summary>
    public static string Best(SentenceTerms sentences, IReadOnlyDictionary<string, float> queryWeights)
    {
        var (text, spans) = (sentences.Text, sentences.Spans);
        if (spans.Count <= 1)
        {
            return text;
        }
        var weights = new float[spans.Count];
        for (var s = 0; s < spans.Count; s++)
        {
            foreach (var term in sentences.Terms(s))
            {
                weights[s] += queryWeights.GetValueOrDefault(term);
            }
        }
        var best = weights.Max();
        var keep = Enumerable.Range(0, spans.Count).Where(s => best > 0 ? weights[s] >= best * KeepFraction : s == 0).ToArray();
        if (keep.Length == spans.Count)
        {
            return text;
        }
        var parts = new List<string>();
        var previous = -1;
        foreach (var s in keep)
        {
            parts.Add((s > previous + 1 ? "… " : "") + text[spans[s]].Trim());
            previous = s;
        }
        return string.Join(" ", parts) + (previous < spans.Count - 1 ? " …" : "");
    }

    private static void Add(List<Range> spans, string text, int start, int end)
    {
        if (!text.AsSpan(start, end - start).IsWhiteSpace())
        {
            spans.Add(start..end);
        }
    }
}

/// <summary>
/// A text's sentences and the distinct terms of each: the part of an excerpt that does not depend on the query, so a
/// stored turn is split once, not on every request that considers it.
/// </summary>
public sealed class SentenceTerms
{
    private readonly string[][] _terms;

    private SentenceTerms(string text, List<Range> spans, string[][] terms)
    {
        Text = text;
        Spans = spans;
        _terms = terms;
    }

    public string Text { get; }

    public IReadOnlyList<Range> Spans { get; }

    /// <summary>The distinct terms of sentence <paramref name="sentence"/> in first-seen order (none for a single sentence).</summary>
    public IReadOnlyList<string> Terms(int sentence) => _terms[sentence];

    public static SentenceTerms Of(string text)
    {
        var spans = Excerpts.Sentences(text);
        var terms = new string[spans.Count][];
        var extracted = new List<string>();
        for (var s = 0; s < spans.Count; s++)
        {
            extracted.Clear();
            if (spans.Count > 1)
            {
                Relevance.Terms.Extract(text.AsSpan()[spans[s]], extracted);
            }
            terms[s] = [.. extracted.Distinct(StringComparer.Ordinal)];
        }
        return new SentenceTerms(text, spans, terms);
    }
}
