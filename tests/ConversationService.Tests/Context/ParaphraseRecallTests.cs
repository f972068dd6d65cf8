using ConversationService.Context;
using ConversationService.Embeddings;
using ConversationService.Relevance;
using ConversationService.Tokenizers;

namespace ConversationService.Tests.Context;

/// <summary>
/// Recall by meaning, in the suite (no LoCoMo data), with the local model and the fusion weights the service uses for it:
/// an old turn answers the question in other words, so BM25 and the lexical hash find nothing, and the model recalls it;
/// a knowledge chunk about the answer in other words is served and an unrelated one is not.
/// </summary>
public sealed class ParaphraseRecallTests
{
    private const string Question = "What animal did she adopt?";
    private const string Answer = "We brought home a little beagle puppy from the rescue last week, his name is Oscar.";

    private static readonly string[] SmallTalk =
    [
        "The weather was lovely this morning, I went for a long walk by the river.",
        "Work has been hectic, three deadlines landed on the same Friday.",
        "I tried a new pasta recipe with lemon and garlic, it came out great.",
        "My sister is visiting next month, we are planning a trip to the coast.",
        "I finally finished that novel about the lighthouse keeper, what an ending.",
        "The kids started swimming lessons, they love the water already.",
        "We repainted the kitchen a pale green over the weekend.",
        "I signed up for a pottery class on Thursday evenings.",
        "The traffic downtown was terrible because of the marathon.",
        "I have been practising guitar every night before bed.",
        "Our neighbours threw a barbecue and the whole street came.",
        "I am thinking about taking an online course in photography.",
    ];

    private static readonly ExactTiktokenTokenizer Tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");
    private static readonly DateTimeOffset Day1 = new(2023, 5, 8, 13, 56, 0, TimeSpan.Zero);

    [Fact]
    public async Task Given_an_old_answer_in_other_words_When_asked_with_the_local_model_Then_it_is_recalled_where_the_lexical_hash_recalls_nothing_of_it()
    {
        var turns = new List<IndexedTurn>();
        for (var i = 0; i < 48; i++)
        {
            turns.Add(new IndexedTurn($"t{i + 1}", i + 1, i % 2 == 0 ? "user" : "assistant", i % 2 == 0 ? "Caroline" : "Melanie",
                i == 13 ? Answer : SmallTalk[i % SmallTalk.Length], Day1.AddDays(i / 8).AddMinutes(i)));
        }
        turns.Add(new IndexedTurn("t49", 49, "user", "Caroline", Question, Day1.AddDays(7)));
        var lexical = new LexicalEmbeddingGenerator();
        using var model = new ArcticEmbeddingGenerator(ArcticModel.Packaged.Value, concurrency: 2);
        var documents = await model.GenerateAsync(turns.Select(t => t.Content));
        var query = (await model.GenerateAsync([Question], EmbeddingPurpose.Query()))[0].Vector.ToArray();

        var byHash = Recalled(ConversationIndex.Empty.Append(turns, [.. turns.Select(t => (float[]?)lexical.Embed(t.Content))]),
            lexical.Embed(Question), FusionWeights.LexicalHash);
        var byModel = Recalled(ConversationIndex.Empty.Append(turns, [.. documents.Select(d => (float[]?)d.Vector.ToArray())]),
            query, ArcticModel.Fusion);

        Assert.DoesNotContain("t14", byHash);
        Assert.Contains("t14", byModel);
    }

    [Fact]
    public async Task Given_knowledge_chunks_When_ranked_with_the_local_model_Then_an_unrelated_chunk_is_left_out_though_budget_remains()
    {
        using var model = new ArcticEmbeddingGenerator(ArcticModel.Packaged.Value, concurrency: 2);
        string[] texts = ["Beagles are friendly hounds; a rescue puppy needs vaccinations and a lot of walks.", "The quarterly report is due at the end of the month."];
        var vectors = await model.GenerateAsync(texts);
        var query = (await model.GenerateAsync([Question], EmbeddingPurpose.Query()))[0].Vector.ToArray();
        var turns = new[] { new IndexedTurn("t1", 1, "user", "Caroline", Question, Day1) };
        var index = ConversationIndex.Empty.Append(turns, [null]);
        KnowledgeItem[] chunks = [new("related", texts[0], vectors[0].Vector.ToArray()), new("unrelated", texts[1], vectors[1].Vector.ToArray())];

        var (window, _) = ContextAssembly.Assemble(new ContextInput(2000, null, null, index, [Tokenizer.CountMessageTokens("user", Question, "Caroline")],
            Question, query, KnowledgeSet.Of(chunks), [], 0, ContextShares.Default, Fusion: ArcticModel.Fusion), Tokenizer);

        var served = window!.Sections.Where(s => s.Kind == "knowledge").SelectMany(s => s.Items).Select(i => i.Id).ToArray();
        Assert.Equal(["related"], served);
    }

    /// <summary>Ids in the window besides the question, at a budget that holds about a fifth of the history.</summary>
    private static string[] Recalled(ConversationIndex index, float[] queryVector, FusionWeights fusion)
    {
        var tokens = index.Turns.Select(t => Tokenizer.CountMessageTokens(t.Role, t.Content, t.Name)).ToArray();
        var (window, _) = ContextAssembly.Assemble(new ContextInput(250, null, null, index, tokens, Question, queryVector, KnowledgeSet.Empty, [], 0,
            ContextShares.Default, Fusion: fusion), Tokenizer);
        Assert.True(window!.Tokens <= 250);
        return [.. window.Sections.Where(s => s.Kind is "recalled" or "recent").SelectMany(s => s.Items).Select(i => i.Id).Where(id => id != "t49")];
    }
}
