extern alias service;

using System.Text.Json;
using BenchmarkDotNet.Attributes;
using service::ConversationService.Context;
using service::ConversationService.Knowledge;
using ConversationService.Relevance;
using ConversationService.Tokenizers;

namespace ConversationService.Benchmarks;

/// <summary>
/// A context request that names a knowledge collection: every LoCoMo session of all files as a document, five times
/// over (as the load measurement in the README put them), split by the service's chunker into 1,430 chunks, ranked for a question on a 600-turn conversation. <c>Cached</c> ranks a
/// collection as the replica holds it (vectors and BM25 postings kept); <c>Uncached</c> first embeds and indexes every
/// chunk, as each request did before collections were held (their database read not included).
/// </summary>
[MemoryDiagnoser]
public class KnowledgeBenchmarks
{
    private static readonly string[] Questions =
    [
        "When did Caroline go to the LGBTQ support group?", "What does Melanie do to destress?",
        "Which instrument does Gina play?", "Where did Jon go on his business trip?",
    ];

    private readonly ExactTiktokenTokenizer _tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");
    private static readonly LexicalEmbeddingGenerator Embedder = new();
    private string[] _chunks = [];
    private KnowledgeSet _cached = KnowledgeSet.Of([]);
    private ConversationIndex _index = ConversationIndex.Empty;
    private int[] _tokens = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var documents = new List<string>();
        foreach (var file in Directory.GetFiles(LocomoTurns.Find(), "conv-*.json").Order(StringComparer.Ordinal))
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(file));
            for (var s = 1; document.RootElement.TryGetProperty($"session_{s}", out var session); s++)
            {
                documents.Add(string.Join(" ", session.EnumerateArray().Select(t => t.GetProperty("text").GetString())));
            }
        }
        _chunks = [.. Enumerable.Repeat(documents, 5).SelectMany(d => d)
            .SelectMany(d => Chunker.Split(d, _tokenizer).Select(c => d.Substring(c.Start, c.Length)))];
        Console.WriteLine($"// {_chunks.Length} chunks");
        _cached = Index();
        var turns = Enumerable.Range(1, 600)
            .Select(i => new IndexedTurn($"t{i}", i, i % 2 == 0 ? "assistant" : "user", "Sam", _chunks[i % _chunks.Length][..80], DateTimeOffset.UnixEpoch))
            .ToArray();
        _index = ConversationIndex.Empty.Append(turns, [.. turns.Select(t => (float[]?)Embedder.Embed(t.Content))]);
        _tokens = [.. turns.Select(t => _tokenizer.CountMessageTokens(t.Role, t.Content, t.Name))];
    }

    [Benchmark]
    public int Cached() => Assemble(_cached);

    [Benchmark]
    public int Uncached() => Assemble(Index());

    private KnowledgeSet Index() =>
        KnowledgeSet.Of([.. _chunks.Select((text, i) => new KnowledgeItem($"c{i}", text, Embedder.Embed(text)))]);

    private int Assemble(KnowledgeSet knowledge)
    {
        var question = Questions[_next++ % Questions.Length];
        var input = new ContextInput(4000, "You are a helpful assistant.", null, _index, _tokens, question,
            Embedder.Embed(question), knowledge, [], 0, ContextShares.Default);
        return ContextAssembly.Assemble(input, _tokenizer).Window!.Tokens;
    }
}
