using ConversationService.Embeddings;

namespace ConversationService.Tests.Embeddings;

public sealed class EmbeddingPlanTests
{
    private static EmbeddingChange.Index Index(string source, bool replace, params string[] texts) =>
        new EmbeddingChange.Index(source, source, texts, replace);

    [Fact]
    public void Given_texts_released_or_replaced_later_in_the_batch_When_planned_Then_only_what_stays_is_embedded()
    {
        var plan = EmbeddingPlan.Wanted(
        [
            ("t1", Index("conversation/a", false, "deleted soon")),
            ("t1", Index("document/d", true, "old version")),
            ("t1", Index("conversation/b", false, "kept")),
            ("t1", new EmbeddingChange.Release("conversation/a")),
            ("t1", Index("document/d", true, "new version")),
        ]);

        Assert.Equal(["kept", "new version"], plan.Select(w => w.Text));
        Assert.Equal(["conversation/b", "document/d"], plan.Select(w => w.ConversationId));
    }

    [Fact]
    public void Given_the_same_text_twice_and_blank_texts_When_planned_Then_each_tenant_embeds_it_once_and_blanks_never()
    {
        var plan = EmbeddingPlan.Wanted(
        [
            ("t1", Index("conversation/a", false, "same", " ")),
            ("t1", Index("conversation/b", false, "same", "")),
            ("t2", Index("conversation/a", false, "same")),
        ]);

        Assert.Equal([("t1", "same"), ("t2", "same")], plan.Select(w => (w.Tenant, w.Text)));
        Assert.Equal(EmbeddingStore.Hash("same"), plan[0].Hash);
        Assert.Single(EmbeddingPlan.Hashes(["same", "same", "  "]));
    }
}
