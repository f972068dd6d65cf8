using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using ConversationService.Context;
using ConversationService.Embeddings;
using ConversationService.Relevance;
using ConversationService.Summaries;
using ConversationService.Tokenizers;
using ConversationService.Tokenizers.Tests;
using Microsoft.Extensions.AI;

namespace ConversationService.Tests.Context;

/// <summary>
/// The LoCoMo evidence-recall protocol (shared/data/locomo/README.md) run in process: each conversation is indexed
/// as the service indexes it, and every category 1-4 question is asked through the same pure assembly the
/// context endpoint uses. Recall of a question = share of its evidence turns among the recent and recalled items.
/// </summary>
public static class LocomoRecall
{
    public static readonly int[] Budgets = [500, 1000, 2000, 4000];

    public sealed record Question(string Text, int Category, string[] Evidence);

    /// <summary>
    /// The vectors a ranking sees. <see cref="Lexical"/>: the lexical hash (Embeddings:Provider=lexical); <see cref="Model"/>:
    /// the local model's cosine alone, no BM25; <see cref="Fused"/>: the local model fused with BM25 (the default service).
    /// </summary>
    public enum Arm { Lexical, Model, Fused }

    /// <summary>A conversation's turns and questions as the local model embeds them: turns as documents, questions as queries.</summary>
    public sealed record ModelVectors(ConversationIndex Index, float[][] Questions);

    public sealed record Conversation(
        string File, ConversationIndex Index, int[] Tokens, Question[] Questions, Lazy<ModelVectors> Model, Lazy<SummaryInput> Summary);

    public sealed record Result(int Budget, int Category, double Recall, int Tokens);

    private static readonly Lazy<Conversation[]> Data = new(() => Load(ExactTiktokenTokenizer.CreateForModel("gpt-4o")));

    public static Conversation[] Conversations => Data.Value;

    public static List<Result> Run(
        Arm arm = Arm.Lexical, ContextShares? shares = null, bool summary = false, FusionWeights? fusion = null,
        IEnumerable<Conversation>? conversations = null)
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");
        var embedder = new LexicalEmbeddingGenerator();
        var weights = fusion ?? Weights(arm);
        var results = new List<Result>();
        foreach (var conversation in conversations ?? Conversations)
        {
            var summaryInput = summary ? conversation.Summary.Value : null;
            var index = arm == Arm.Lexical ? conversation.Index : conversation.Model.Value.Index;
            for (var q = 0; q < conversation.Questions.Length; q++)
            {
                var question = conversation.Questions[q];
                var vector = arm == Arm.Lexical ? embedder.Embed(question.Text) : conversation.Model.Value.Questions[q];
                foreach (var budget in Budgets)
                {
                    var input = new ContextInput(budget, null, summaryInput, index, conversation.Tokens, question.Text,
                        vector, KnowledgeSet.Empty, [], 0, shares ?? ContextShares.Default, Fusion: weights);
                    var (window, _) = ContextAssembly.Assemble(input, tokenizer);
                    var ids = window!.Sections.Where(s => s.Kind is "recent" or "recalled")
                        .SelectMany(s => s.Items).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
                    var found = question.Evidence.Count(ids.Contains);
                    results.Add(new Result(budget, question.Category, (double)found / question.Evidence.Length, window.Tokens));
                }
            }
        }
        return results;
    }

    /// <summary>The weights the service ranks with for the arm's embedder; the model alone keeps only its cosine.</summary>
    public static FusionWeights Weights(Arm arm) => arm switch
    {
        Arm.Lexical => FusionWeights.LexicalHash,
        Arm.Model => ArcticModel.Fusion with { Lexical = 0f },
        _ => ArcticModel.Fusion,
    };

    public static string Table(IReadOnlyList<Result> results)
    {
        var text = new StringBuilder("| budget | all | multi-hop (1) | temporal (2) | open-domain (3) | single-hop (4) | max tokens |\n|---|---|---|---|---|---|---|\n");
        foreach (var budget in Budgets)
        {
            var rows = results.Where(r => r.Budget == budget).ToArray();
            text.Append(CultureInfo.InvariantCulture, $"| {budget} | {rows.Average(r => r.Recall):F3} |");
            for (var category = 1; category <= 4; category++)
            {
                text.Append(CultureInfo.InvariantCulture, $" {rows.Where(r => r.Category == category).Average(r => r.Recall):F3} |");
            }
            text.Append(CultureInfo.InvariantCulture, $" {rows.Max(r => r.Tokens)} |\n");
        }
        return text.ToString();
    }

    public static double Recall(IReadOnlyList<Result> results, int budget) =>
        results.Where(r => r.Budget == budget).Average(r => r.Recall);

    private static Conversation[] Load(ExactTiktokenTokenizer tokenizer)
    {
        var embedder = new LexicalEmbeddingGenerator();
        var conversations = new List<Conversation>();
        foreach (var file in Directory.GetFiles(LocomoData.Directory(), "conv-*.json").Order(StringComparer.Ordinal))
        {
            var doc = JsonNode.Parse(File.ReadAllText(file))!;
            var speakerA = doc["speaker_a"]!.GetValue<string>();
            var turns = new List<IndexedTurn>();
            var sessionEnds = new List<int>();
            for (var s = 1; doc[$"session_{s}"] is JsonArray session; s++)
            {
                var occurredAt = ParseDate(doc[$"session_{s}_date_time"]!.GetValue<string>());
                foreach (var turn in session)
                {
                    var speaker = turn!["speaker"]!.GetValue<string>();
                    var text = turn["text"]!.GetValue<string>();
                    if (turn["blip_caption"] is { } caption)
                    {
                        text += " [shares a photo: " + caption.GetValue<string>() + "]";
                    }
                    turns.Add(new IndexedTurn(turn["dia_id"]!.GetValue<string>(), turns.Count + 1,
                        speaker == speakerA ? "user" : "assistant", speaker.Replace(' ', '_'), text, occurredAt));
                }
                sessionEnds.Add(turns.Count);
            }
            var index = ConversationIndex.Empty.Append(turns, turns.Select(t => (float[]?)embedder.Embed(t.Content)).ToArray());
            var tokens = turns.Select(t => tokenizer.CountMessageTokens(t.Role, t.Content, t.Name)).ToArray();
            var questions = doc["qa"]!.AsArray()
                .Select(q => new Question(q!["question"]!.GetValue<string>(), q["category"]!.GetValue<int>(),
                    q["evidence"]!.AsArray().Select(e => e!.GetValue<string>()).ToArray()))
                .Where(q => q.Category is >= 1 and <= 4 && q.Evidence.Length > 0)
                .ToArray();
            conversations.Add(new Conversation(Path.GetFileName(file), index, tokens, questions,
                new Lazy<ModelVectors>(() => EmbedWithModel(turns, questions)),
                new Lazy<SummaryInput>(() => RollingSummary(turns, tokens, sessionEnds, tokenizer))));
        }
        return [.. conversations];
    }

    /// <summary>
    /// Turns embedded as the projection embeds them (<see cref="ConversationEmbeddingSource"/>: the turn's content, as a
    /// document), questions as the context endpoint embeds a query (<see cref="EmbeddingPurpose.Query"/>).
    /// </summary>
    private static ModelVectors EmbedWithModel(List<IndexedTurn> turns, Question[] questions)
    {
        using var generator = new ArcticEmbeddingGenerator(ArcticModel.Packaged.Value, Environment.ProcessorCount);
        var texts = turns.Select(t => t.Content).ToArray();
        var documents = Embed(generator, texts, null);
        var queries = Embed(generator, [.. questions.Select(q => q.Text)], EmbeddingPurpose.Query());
        return new ModelVectors(ConversationIndex.Empty.Append(turns, documents), queries);
    }

    private static float[][] Embed(ArcticEmbeddingGenerator generator, string[] texts, EmbeddingGenerationOptions? options) =>
        [.. generator.GenerateAsync(texts, options).GetAwaiter().GetResult().Select(e => e.Vector.ToArray())];

    /// <summary>
    /// The rolling summary the service has written by the end of the evaluation's ingest with no LLM configured: the
    /// evaluation posts one session at a time; after each, the trigger asks for the turns outside the newest
    /// <see cref="SummariesOptions.RecentWindowTokens"/> once they exceed <see cref="SummariesOptions.ThresholdTokens"/>,
    /// and the consumer folds them into the previous summary with the extractive summarizer, at most
    /// <see cref="SummariesOptions.MaxInputTokens"/> per call (default options throughout).
    /// </summary>
    private static SummaryInput RollingSummary(List<IndexedTurn> turns, int[] tokens, List<int> sessionEnds, ExactTiktokenTokenizer tokenizer)
    {
        var options = new SummariesOptions();
        var (summary, through) = ((string?)null, 0);
        foreach (var end in sessionEnds)
        {
            var uncovered = Enumerable.Range(through, end - through).Select(i => (turns[i].Index, tokens[i])).ToArray();
            var requested = SummaryDecisions.SummarizeThrough(uncovered, options.RecentWindowTokens, options.ThresholdTokens);
            while (requested is { } r && through < r)
            {
                var count = SummaryDecisions.TakeWithin(tokens[through..r], options.MaxInputTokens);
                var folded = turns.Skip(through).Take(count).Select(t => new SummaryTurn(t.Index, t.Role, t.Name, t.Content)).ToArray();
                summary = ExtractiveSummarizer.Summarize(summary, folded, options.MaxSummaryTokens, tokenizer);
                through += count;
            }
        }
        return new SummaryInput(summary ?? "", through);
    }

    /// <summary>LoCoMo session times look like "1:56 pm on 8 May, 2023".</summary>
    public static DateTimeOffset ParseDate(string text) =>
        new(DateTime.ParseExact(text.ToUpperInvariant().Replace("ON ", "", StringComparison.Ordinal), "h:mm tt d MMMM, yyyy",
            CultureInfo.InvariantCulture), TimeSpan.Zero);
}
