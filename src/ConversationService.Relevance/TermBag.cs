using System.Runtime.InteropServices;

namespace ConversationService.Relevance;

/// <summary>A document's distinct terms with their counts: what BM25 needs of it, extracted once and cached.</summary>
public sealed class TermBag
{
    private TermBag(string[] terms, int[] counts, int length)
    {
        Terms = terms;
        Counts = counts;
        Length = length;
    }

    public IReadOnlyList<string> Terms { get; }

    public IReadOnlyList<int> Counts { get; }

    /// <summary>All terms counted with repetition: the document length of BM25's length normalization.</summary>
    public int Length { get; }

    public static TermBag From(IEnumerable<string> terms)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var length = 0;
        foreach (var term in terms)
        {
            CollectionsMarshal.GetValueRefOrAddDefault(counts, term, out _)++;
            length++;
        }
        return new TermBag([.. counts.Keys], [.. counts.Values], length);
    }

    public static TermBag Of(string text) => From(Relevance.Terms.Extract(text));
}
