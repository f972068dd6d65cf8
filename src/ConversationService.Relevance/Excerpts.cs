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
    public static string Best(string text, IReadOnlyDictionary<string, float> queryWeights)
    {
        var sentences = Sentences(text);
        if (sentences.Count <= 1)
        {
            return text;
        }
        var weights = new float[sentences.Count];
        var terms = new List<string>();
        for (var s = 0; s < sentences.Count; s++)
        {
            terms.Clear();
            Terms.Extract(text.AsSpan()[sentences[s]], terms);
            foreach (var term in terms.Distinct(StringComparer.Ordinal))
            {
                weights[s] += queryWeights.GetValueOrDefault(term);
            }
        }
        var best = weights.Max();
        var keep = Enumerable.Range(0, sentences.Count).Where(s => best > 0 ? weights[s] >= best * KeepFraction : s == 0).ToArray();
        if (keep.Length == sentences.Count)
        {
            return text;
        }
        var parts = new List<string>();
        var previous = -1;
        foreach (var s in keep)
        {
            parts.Add((s > previous + 1 ? "… " : "") + text[sentences[s]].Trim());
            previous = s;
        }
        return string.Join(" ", parts) + (previous < sentences.Count - 1 ? " …" : "");
    }

    private static void Add(List<Range> spans, string text, int start, int end)
    {
        if (!text.AsSpan(start, end - start).IsWhiteSpace())
        {
            spans.Add(start..end);
        }
    }
}
