using ConversationService.Knowledge;
using ConversationService.Relevance;

namespace ConversationService.Context;

/// <summary>
/// Knowledge items with the BM25 index and the vector rows of exactly those items, in the same order. The items
/// themselves are kept without their vectors: <see cref="Vectors"/> holds them, once.
/// </summary>
public sealed record KnowledgeSet(IReadOnlyList<KnowledgeItem> Items, Bm25Index Terms, VectorRows Vectors)
{
    public static KnowledgeSet Empty { get; } = Of([]);

    public static KnowledgeSet Of(IReadOnlyList<KnowledgeItem> items) =>
        new([.. items.Select(i => i with { Vector = null })], new Bm25Index([.. items.Select(i => TermBag.Of(i.Text))]),
            new VectorRows([.. items.Select(i => i.Vector)]));

    /// <summary>The sets' items in order; a single non-empty set is itself (a held collection is not copied per request).</summary>
    public static KnowledgeSet Combine(IReadOnlyList<KnowledgeSet> sets)
    {
        var nonEmpty = sets.Where(s => s.Items.Count > 0).ToArray();
        return nonEmpty.Length switch
        {
            0 => Empty,
            1 => nonEmpty[0],
            _ => new([.. nonEmpty.SelectMany(s => s.Items)], Bm25Index.Combine([.. nonEmpty.Select(s => s.Terms)]),
                VectorRows.Combine([.. nonEmpty.Select(s => s.Vectors)])),
        };
    }
}
