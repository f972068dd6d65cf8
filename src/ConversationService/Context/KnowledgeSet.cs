using ConversationService.Knowledge;
using ConversationService.Relevance;

namespace ConversationService.Context;

/// <summary>Knowledge items and the BM25 index of exactly those items, in the same order.</summary>
public sealed record KnowledgeSet(IReadOnlyList<KnowledgeItem> Items, Bm25Index Terms)
{
    public static KnowledgeSet Of(IReadOnlyList<KnowledgeItem> items) =>
        new(items, new Bm25Index([.. items.Select(i => TermBag.Of(i.Text))]));

    public static KnowledgeSet Combine(IReadOnlyList<KnowledgeSet> sets) =>
        new([.. sets.SelectMany(s => s.Items)], Bm25Index.Combine([.. sets.Select(s => s.Terms)]));
}
