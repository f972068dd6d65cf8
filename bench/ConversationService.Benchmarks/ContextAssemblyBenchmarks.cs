extern alias service;

using System.Globalization;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using service::ConversationService.Context;
using ConversationService.Relevance;
using ConversationService.Tokenizers;

namespace ConversationService.Benchmarks;

/// <summary>
/// One context request's CPU work on a 600-turn LoCoMo conversation (conv-41, its first 600 turns): ranking
/// (BM25, cosine, feedback, smoothing), excerpts, packing and exact counting, with the conversation's ranking
/// state cached as the service caches it. <c>Cold</c> also builds that state (a conversation's first request).
/// </summary>
[MemoryDiagnoser]
public class ContextAssemblyBenchmarks
{
    private static readonly string[] Questions =
    [
        "When did Caroline go to the LGBTQ support group?", "What fields would Caroline be likely to pursue in her education?",
        "What does Melanie do to destress?", "Would Caroline be considered religious?",
    ];

    private readonly ExactTiktokenTokenizer _tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");
    private static readonly LexicalEmbeddingGenerator Embedder = new();
    private IndexedTurn[] _turns = [];
    private int[] _tokens = [];
    private ConversationIndex _index = ConversationIndex.Empty;
    private int _next;

    [Params(1000, 4000)]
    public int Budget { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _turns = Load(600);
        _tokens = _turns.Select(t => _tokenizer.CountMessageTokens(t.Role, t.Content, t.Name)).ToArray();
        _index = Build();
        Assemble(); // warms the per-turn line counts, as the first request on a conversation does
    }

    [Benchmark]
    public int Warm() => Assemble();

    [Benchmark]
    public int Cold()
    {
        _index = Build();
        return Assemble();
    }

    private ConversationIndex Build() =>
        ConversationIndex.Empty.Append(_turns, _turns.Select(t => (float[]?)Embedder.Embed(t.Content)).ToArray());

    private int Assemble()
    {
        var question = Questions[_next++ % Questions.Length];
        var input = new ContextInput(Budget, "You are a helpful assistant.", null, _index, _tokens, question,
            Embedder.Embed(question), KnowledgeSet.Empty, [], 0, ContextShares.Default);
        return ContextAssembly.Assemble(input, _tokenizer).Window!.Tokens;
    }

    private static IndexedTurn[] Load(int count)
    {
        var path = Path.Combine(LocomoTurns.Find(), "conv-41.json");
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        var speakerA = root.GetProperty("speaker_a").GetString();
        var turns = new List<IndexedTurn>();
        for (var s = 1; root.TryGetProperty($"session_{s}", out var session) && turns.Count < count; s++)
        {
            var date = root.GetProperty($"session_{s}_date_time").GetString()!.ToUpperInvariant().Replace("ON ", "", StringComparison.Ordinal);
            var at = new DateTimeOffset(DateTime.ParseExact(date, "h:mm tt d MMMM, yyyy", CultureInfo.InvariantCulture), TimeSpan.Zero);
            foreach (var turn in session.EnumerateArray())
            {
                var speaker = turn.GetProperty("speaker").GetString()!;
                var text = turn.GetProperty("text").GetString()!;
                if (turn.TryGetProperty("blip_caption", out var caption) && caption.GetString() is { Length: > 0 } c)
                {
                    text += " [shares a photo: " + c + "]";
                }
                turns.Add(new IndexedTurn(turn.GetProperty("dia_id").GetString()!, turns.Count + 1,
                    speaker == speakerA ? "user" : "assistant", speaker.Replace(' ', '_'), text, at));
            }
        }
        // Whole sessions up to about the count; the newest user turn is then a real one.
        return [.. turns.Take(count)];
    }
}
