using ConversationService.Context;
using ConversationService.Relevance;
using ConversationService.Tokenizers;

namespace ConversationService.Tests.Context;

/// <summary>The assembly is pure: these run without the service or a database.</summary>
public sealed class ContextAssemblyTests
{
    private static readonly ExactTiktokenTokenizer Tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");
    private static readonly LexicalEmbeddingGenerator Embedder = new();
    private static readonly DateTimeOffset Day1 = new(2023, 5, 8, 13, 56, 0, TimeSpan.Zero);

    private static IndexedTurn Turn(int index, string role, string content, DateTimeOffset? at = null) =>
        new($"t{index}", index, role, role == "user" ? "Caroline" : "Melanie", content, at ?? Day1.AddMinutes(index));

    private static ConversationIndex Index(params IndexedTurn[] turns) =>
        ConversationIndex.Empty.Append(turns, turns.Select(t => (float[]?)Embedder.Embed(t.Content)).ToArray());

    private static (ContextWindow? Window, ContextTooSmall? TooSmall) Assemble(
        int available, ConversationIndex index, string? system = null, string? query = null, SummaryInput? summary = null,
        IReadOnlyList<KnowledgeItem>? knowledge = null, IReadOnlyList<ExampleItem>? examples = null, int k = 0,
        ContextShares? shares = null)
    {
        var tokens = index.Turns.Select(t => Tokenizer.CountMessageTokens(t.Role, t.Content, t.Name)).ToArray();
        var queryText = query ?? index.Turns.LastOrDefault(t => t.Role == "user")?.Content;
        return ContextAssembly.Assemble(new ContextInput(available, system, summary, index, tokens, queryText,
            queryText is null ? null : Embedder.Embed(queryText), KnowledgeSet.Of(knowledge ?? []), examples ?? [], k,
            shares ?? ContextShares.Default), Tokenizer);
    }

    private static int Oracle(ContextWindow window) =>
        Tokenizer.CountChatTokens(window.Messages.Select(m => new ChatMessage(m.Role, m.Content, m.Name)));

    private static ContextSection? Section(ContextWindow window, string kind) => window.Sections.SingleOrDefault(s => s.Kind == kind);

    /// <summary>Filler small talk, then one old turn about a topic, then more small talk: long enough that not all fits.</summary>
    private static ConversationIndex History(string needle, int filler = 60)
    {
        var turns = new List<IndexedTurn>();
        var index = 1;
        for (var i = 0; i < filler; i++, index++)
        {
            turns.Add(Turn(index, index % 2 == 1 ? "user" : "assistant", $"Small talk number {i} about the weather and lunch plans today, nothing more to say here.", Day1.AddDays(i / 20).AddMinutes(index)));
            if (i == 10)
            {
                index++;
                turns.Add(Turn(index, "assistant", needle, Day1.AddMinutes(index)));
            }
        }
        turns.Add(Turn(index, "user", "Anyway, how are you?", Day1.AddDays(5)));
        return Index([.. turns]);
    }

    [Fact]
    public void Given_turns_that_all_fit_When_assembled_Then_all_are_recent_in_order_and_tokens_match_the_chat_rule()
    {
        var (window, tooSmall) = Assemble(1000, Index(Turn(1, "user", "a"), Turn(2, "assistant", "b"), Turn(3, "user", "c")), "sys");

        Assert.Null(tooSmall);
        Assert.Equal(["sys", "a", "b", "c"], window!.Messages.Select(m => m.Content));
        Assert.Equal(Oracle(window), window.Tokens);
        Assert.Equal(["system", "recent"], window.Sections.Select(s => s.Kind));
        Assert.Equal(["t1", "t2", "t3"], Section(window, "recent")!.Items.Select(i => i.Id));
    }

    [Fact]
    public void Given_a_long_history_and_a_query_about_an_old_turn_When_assembled_Then_it_is_recalled_with_its_date_in_one_message_before_the_newest_user_turn()
    {
        var index = History("I went to the LGBTQ support group yesterday and it was powerful.");

        var (window, _) = Assemble(400, index, "You are helpful.", query: "When did Caroline go to the LGBTQ support group?");

        Assert.Equal(["system", "recent", "recalled"], window!.Sections.Select(s => s.Kind));
        var recalled = Section(window, "recalled")!;
        Assert.Equal("t12", recalled.Items.MaxBy(i => i.Score)!.Id);
        Assert.Equal(recalled.Items.OrderBy(i => int.Parse(i.Id[1..], System.Globalization.CultureInfo.InvariantCulture)), recalled.Items);
        var material = window.Messages[^2];
        Assert.Equal(ContextAssembly.MaterialRole, material.Role);
        Assert.StartsWith(ContextAssembly.RecalledHeader, material.Content);
        Assert.StartsWith(ContextAssembly.RecalledHeader + "\n[8 May 2023]\n", material.Content);
        Assert.Contains("\nMelanie: I went to the LGBTQ support group yesterday and it was powerful.", material.Content);
        Assert.Equal("Anyway, how are you?", window.Messages[^1].Content);
        Assert.Equal(Oracle(window), window.Tokens);
        Assert.Equal(window.Tokens - ContextAssembly.ReplyPriming, window.Sections.Sum(s => s.Tokens));
    }

    [Fact]
    public void Given_a_query_that_matches_nothing_When_assembled_with_budget_to_spare_Then_nothing_is_recalled()
    {
        var index = History("I went to the LGBTQ support group yesterday and it was powerful.");

        var (window, _) = Assemble(1500, index, query: "quantum chromodynamics lattice gauge");

        Assert.Null(Section(window!, "recalled"));
        Assert.True(window!.Tokens < 1500 * 0.5, "the recent share and the mandatory turn only");
    }

    [Fact]
    public void Given_a_long_turn_recalled_When_it_is_longer_than_the_excerpt_limit_Then_only_its_matching_sentences_are_shown()
    {
        var index = History("We had a lovely day at the beach. The kids built castles. Then I signed up for a pottery class downtown. It rained later.");

        var (window, _) = Assemble(400, index, query: "Which class did Melanie sign up for, pottery?");

        var material = window!.Messages[^2].Content;
        Assert.Contains("Melanie: … Then I signed up for a pottery class downtown. …", material);
        Assert.DoesNotContain("castles", material);
    }

    [Fact]
    public void Given_the_recent_window_When_the_conversation_grows_by_one_turn_Then_its_start_moves_in_steps()
    {
        var starts = new HashSet<string>();
        for (var extra = 0; extra < 4; extra++)
        {
            var turns = Enumerable.Range(1, 80 + extra).Select(i => Turn(i, i % 2 == 1 ? "user" : "assistant", $"turn {i} says something short")).ToArray();
            var (window, _) = Assemble(1000, Index(turns), query: "nothing here matches");
            var first = Section(window!, "recent")!.Items[0].Id;
            Assert.True(Section(window!, "recent")!.Items.Count > 3);
            Assert.Equal(0, int.Parse(first[1..], System.Globalization.CultureInfo.InvariantCulture) % ContextAssembly.RecentStep);
            starts.Add(first);
        }
        Assert.True(starts.Count <= 2, string.Join(",", starts));
    }

    [Fact]
    public void Given_a_summary_When_the_history_does_not_fit_Then_it_follows_the_system_prompt_and_recent_turns_follow_it()
    {
        var index = History("unrelated");

        var (window, _) = Assemble(1000, index, "sys", summary: new SummaryInput("They chatted about the weather.", 40));

        Assert.Equal(["system", "summary", "recent"], window!.Sections.Take(3).Select(s => s.Kind));
        Assert.Equal(ContextAssembly.SummaryMessage("They chatted about the weather."), window.Messages[1].Content);
        Assert.Equal(Oracle(window), window.Tokens);
    }

    [Fact]
    public void Given_a_full_summary_When_the_budget_is_2000_Then_recalled_turns_get_its_room_and_at_4000_it_is_served_whole()
    {
        var index = History("unrelated", filler: 300);
        var text = string.Join('\n', Enumerable.Range(1, 12).Select(i => $"Caroline: On day {i} the budget review moved to room {100 + i}."));
        var summary = new SummaryInput(text, 100);
        Assert.InRange(ContextAssembly.SummaryTokens(text, Tokenizer)!.Value, 170, 230); // about the summarizer's 200-token cap

        var (small, _) = Assemble(2000, index, summary: summary);
        var (large, _) = Assemble(4000, index, summary: summary);

        Assert.Null(Section(small!, "summary"));
        Assert.Equal(ContextAssembly.SummaryMessage(text), large!.Messages[0].Content);
        Assert.All(new[] { small, large }, w => Assert.Equal(Oracle(w!), w!.Tokens));
    }

    [Fact]
    public void Given_knowledge_items_When_assembled_Then_relevant_ones_are_packed_with_scores_and_irrelevant_and_duplicate_ones_are_not()
    {
        KnowledgeItem Chunk(string id, string text) => new(id, text, Embedder.Embed(text));
        KnowledgeItem[] chunks =
        [
            Chunk("refunds", "Refunds are paid within 14 days of the return reaching our warehouse."),
            Chunk("refunds-copy", "Refunds are paid within 14 days of the return reaching our warehouse."),
            Chunk("shipping", "Parcels ship from Rotterdam on weekdays."),
            Chunk("cats", "Cats sleep for most of the day."),
        ];
        var index = Index(Turn(1, "user", "How long do refunds take after a return?"));

        var (window, _) = Assemble(2000, index, knowledge: chunks);

        var knowledge = Section(window!, "knowledge")!;
        Assert.Equal(["refunds"], knowledge.Items.Select(i => i.Id));
        Assert.True(knowledge.Items[0].Score > Ranking.ChunkThreshold);
        Assert.Contains("Refunds are paid within 14 days", window!.Messages[^2].Content);
        Assert.Equal(Oracle(window), window.Tokens);
    }

    [Fact]
    public void Given_knowledge_larger_than_its_share_When_assembled_Then_the_section_stays_within_the_share()
    {
        var chunks = Enumerable.Range(0, 10).Select(i => new KnowledgeItem($"k{i}",
            $"Refund rule {i}: " + string.Join(' ', Enumerable.Repeat($"refunds return policy detail{i}", 20)), null)).ToArray();
        var index = Index(Turn(1, "user", "What is the refund and return policy?"));

        var (window, _) = Assemble(2000, index, knowledge: chunks, shares: ContextShares.Default with { Knowledge = 0.2 });

        var knowledge = Section(window!, "knowledge")!;
        Assert.InRange(knowledge.Items.Count, 1, 9);
        Assert.True(knowledge.Tokens <= 0.2 * 2000 + 10, $"{knowledge.Tokens}");
    }

    [Fact]
    public void Given_collections_held_apart_When_combined_for_a_request_Then_the_window_is_that_of_one_set_of_all_their_chunks()
    {
        var topics = new[] { "refund policy", "return shipping", "store hours", "gift cards", "loyalty points" };
        var chunks = Enumerable.Range(0, 600).Select(i => new KnowledgeItem($"k{i}",
            $"Note {i} on {topics[i % 5]}: " + string.Join(' ', Enumerable.Repeat($"{topics[(i / 5) % 5]} detail{i % 37}", 6)),
            i % 50 == 0 ? null : Embedder.Embed(topics[i % 5] + " " + i))).ToArray();
        var index = Index(Turn(1, "user", "How do refund policy and return shipping work?"));
        var query = index.Turns[0].Content;
        ContextWindow Window(KnowledgeSet knowledge) => ContextAssembly.Assemble(new ContextInput(3000, null, null, index,
            [Tokenizer.CountMessageTokens("user", query, "Caroline")], query, Embedder.Embed(query), knowledge, [], 0,
            ContextShares.Default), Tokenizer).Window!;

        var whole = Window(KnowledgeSet.Of(chunks));
        var apart = Window(KnowledgeSet.Combine([KnowledgeSet.Of(chunks[..250]), KnowledgeSet.Empty, KnowledgeSet.Of(chunks[250..])]));

        Assert.True(Section(whole, "knowledge")!.Items.Count > 1);
        Assert.Equal(whole.Messages, apart.Messages);
        Assert.Equal(Section(whole, "knowledge")!.Items, Section(apart, "knowledge")!.Items);
    }

    [Fact]
    public void Given_examples_When_k_is_asked_Then_at_most_k_similar_ones_are_served_and_dissimilar_ones_never()
    {
        ExampleItem Example(string id, string input, string output) => new(id, input, output, Embedder.Embed(input));
        ExampleItem[] examples =
        [
            Example("e1", "Translate good morning to Portuguese", "Bom dia"),
            Example("e2", "Translate good night to Portuguese", "Boa noite"),
            Example("e3", "Translate thank you to Portuguese", "Obrigado"),
            Example("e4", "Summarize the quarterly revenue report", "Revenue grew."),
        ];
        var index = Index(Turn(1, "user", "Translate good afternoon to Portuguese"));

        var (two, _) = Assemble(2000, index, examples: examples, k: 2);
        var (none, _) = Assemble(2000, index, examples: examples, k: 0);

        var items = Section(two!, "examples")!.Items.Select(i => i.Id).ToArray();
        Assert.Equal(2, items.Length);
        Assert.DoesNotContain("e4", items);
        Assert.Contains("Input: Translate good", two!.Messages[^2].Content);
        Assert.Null(Section(none!, "examples"));
    }

    [Fact]
    public void Given_random_histories_queries_and_budgets_When_assembled_Then_tokens_are_exact_and_never_over_the_budget()
    {
        var random = new Random(7);
        var words = "the support group paint beach pottery kids dog turtle café 42 😀 émigré Rotterdam refund. Yes! Why? [shares a photo: a cat]".Split(' ');
        string Text(int max) => string.Join(' ', Enumerable.Range(0, random.Next(1, max)).Select(_ => words[random.Next(words.Length)]));
        for (var round = 0; round < 60; round++)
        {
            var turns = Enumerable.Range(1, random.Next(1, 120))
                .Select(i => Turn(i, random.Next(3) == 0 ? "assistant" : "user", Text(60), Day1.AddHours(i * random.Next(1, 30))))
                .ToArray();
            var knowledge = Enumerable.Range(0, random.Next(0, 6)).Select(i => new KnowledgeItem($"k{i}", Text(200), null)).ToArray();
            var examples = Enumerable.Range(0, random.Next(0, 6)).Select(i => new ExampleItem($"e{i}", Text(20), Text(20), null)).ToArray();
            var summary = random.Next(2) == 0 ? null : new SummaryInput(Text(100), turns.Length / 2);
            var budget = random.Next(20, 3000);
            var (window, tooSmall) = Assemble(budget, Index(turns), random.Next(2) == 0 ? null : Text(30), random.Next(2) == 0 ? null : Text(12),
                summary, knowledge, examples, random.Next(0, 4),
                new ContextShares(random.NextDouble(), random.NextDouble(), random.NextDouble(), random.NextDouble()));
            if (window is null)
            {
                Assert.True(tooSmall!.RequiredTokens > budget);
                continue;
            }
            Assert.Equal(Oracle(window), window.Tokens);
            Assert.True(window.Tokens <= budget, $"round {round}: {window.Tokens} > {budget}");
            Assert.Equal(window.Tokens - ContextAssembly.ReplyPriming, window.Sections.Sum(s => s.Tokens));
            var ids = window.Sections.Where(s => s.Kind is "recent" or "recalled").SelectMany(s => s.Items).Select(i => i.Id).ToArray();
            Assert.Equal(ids.Length, ids.Distinct().Count());
        }
    }

    [Fact]
    public void Given_a_newest_user_turn_too_big_When_assembled_Then_only_it_is_cut_to_the_exact_room_left()
    {
        var big = string.Join(' ', Enumerable.Range(0, 500).Select(i => $"w{i}"));

        var (window, _) = Assemble(100, Index(Turn(1, "assistant", "earlier"), Turn(2, "user", big)), "sys");

        Assert.Equal(2, window!.Messages.Count);
        Assert.StartsWith(window.Messages[1].Content, big);
        Assert.Equal(Oracle(window), window.Tokens);
        Assert.InRange(window.Tokens, 98, 100);
    }

    [Fact]
    public void Given_mandatory_parts_that_cannot_fit_When_assembled_Then_too_small_with_the_required_count()
    {
        var (window, tooSmall) = Assemble(10, Index(Turn(1, "user", "hi")), "a long system prompt that needs many tokens");

        Assert.Null(window);
        Assert.True(tooSmall!.RequiredTokens > 10);
        Assert.Equal(10, tooSmall.AvailableTokens);
    }

    [Fact]
    public void Given_no_turns_When_assembled_Then_only_the_system_prompt_is_returned()
    {
        var (window, _) = Assemble(100, ConversationIndex.Empty, "sys");

        Assert.Equal(["system"], window!.Messages.Select(m => m.Role));
        Assert.Equal(Oracle(window), window.Tokens);
    }

    [Theory]
    [InlineData("héllo wörld 🤖🤖🤖 1234567890 ", 7)]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 3)]
    [InlineData("日本語のテキストを正しく切る必要があります。", 5)]
    public void Given_any_text_When_cut_Then_the_prefix_never_exceeds_the_limit(string text, int limit)
    {
        var cut = ContextAssembly.CutToTokens(string.Concat(Enumerable.Repeat(text, 5)), limit, Tokenizer);
        Assert.InRange(Tokenizer.CountTokens(cut), 1, limit);
    }
}
