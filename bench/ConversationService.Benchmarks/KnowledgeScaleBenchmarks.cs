extern alias service;

using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using service::ConversationService.Context;
using service::ConversationService.Embeddings;
using ConversationService.Relevance;
using ConversationService.Tokenizers;

namespace ConversationService.Benchmarks;

/// <summary>
/// The knowledge part of one context request over a held collection of <see cref="Chunks"/> synthetic chunks
/// (<see cref="SyntheticCollection"/>): <c>Knowledge</c> is the whole path as the service runs it (BM25 and cosine
/// fused, threshold, MMR, greedy packing with exact token counts, rendering), the others are its parts. One
/// invocation per iteration, so P50 and P95 are those of single requests over rotating questions; in process, so the
/// 100,000 chunks are built once. The 1,000-chunk collection (the first thousand of the same chunks) is the reference
/// measured in the same run.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(SingleRequests))]
public class KnowledgeScaleBenchmarks
{
    private sealed class SingleRequests : ManualConfig
    {
        public SingleRequests()
        {
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance)
                .WithInvocationCount(1).WithUnrollFactor(1).WithWarmupCount(4).WithIterationCount(40));
            AddColumn(StatisticColumn.P50, StatisticColumn.P95);
        }
    }

    private static readonly Lazy<SyntheticCollection> Collection = new(() => new SyntheticCollection(100_000));

    private readonly ExactTiktokenTokenizer _tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");
    private KnowledgeSet _set = KnowledgeSet.Of([]);
    private float[]?[] _vectors = [];
    private int _next;

    [Params(1_000, 100_000)]
    public int Chunks { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var all = Collection.Value;
        _vectors = all.Vectors[..Chunks];
        _set = Chunks == all.Set.Items.Count ? all.Set
            : KnowledgeSet.Of([.. all.Set.Items.Take(Chunks).Select((item, i) => item with { Vector = _vectors[i] })]);
    }

    /// <summary>The whole knowledge path of a context request with a 4,000-token budget.</summary>
    [Benchmark(Baseline = true)]
    public int Knowledge()
    {
        var (query, vector) = Next();
        var input = new ContextInput(4000, "You are a helpful assistant.", null, ConversationIndex.Empty, [], query,
            vector, _set, [], 0, ContextShares.Default, ArcticModel.Fusion);
        return ContextAssembly.Assemble(input, _tokenizer).Window!.Tokens;
    }

    /// <summary>BM25 and cosine of every chunk, fused.</summary>
    [Benchmark]
    public float Scores()
    {
        var (query, vector) = Next();
        return Ranking.Items(_set.Terms, _set.Vectors, Ranking.QueryTerms(query), vector, ConversationIndex.Empty, ArcticModel.Fusion)[0];
    }

    /// <summary>Cosine of every chunk alone, over the set's contiguous rows with norms computed once.</summary>
    [Benchmark]
    public float Cosines()
    {
        var (_, vector) = Next();
        var into = new float[_set.Vectors.Count];
        _set.Vectors.CosineAll(vector, into);
        return into[0];
    }

    /// <summary>The same over one array per chunk, each norm computed again (how <c>Cosines</c> ran before).</summary>
    [Benchmark]
    public float CosinesPerItem()
    {
        var (_, vector) = Next();
        var into = new float[_vectors.Length];
        Vectors.CosineAll(vector, _vectors, into);
        return into[0];
    }

    /// <summary>BM25 of every chunk alone.</summary>
    [Benchmark]
    public float Lexical()
    {
        var (query, _) = Next();
        var into = new float[_set.Terms.Count];
        return _set.Terms.Score(Ranking.QueryTerms(query), into);
    }

    private (string Query, float[] Vector) Next()
    {
        var at = _next++ % SyntheticCollection.Questions;
        return (Collection.Value.Queries[at], Collection.Value.QueryVectors[at]);
    }
}

/// <summary>
/// A deterministic knowledge collection at scale: chunks of 150-300 words (about 200-400 o200k tokens, as the chunker
/// cuts) on 1,000 topics, each topic with its own vocabulary over a shared Zipf-distributed common one; 384-d unit
/// vectors as a sentence model gives them: a shared direction (models' embeddings are anisotropic), the topic's
/// direction and the chunk's own, so that chunks of one topic meet at a cosine of about 0.6 and unrelated ones at
/// about 0.25. Questions name two words of a topic and come with a vector of that topic.
/// </summary>
public sealed class SyntheticCollection
{
    public const int Dimensions = 384;
    public const int Topics = 1_000;
    public const int Questions = 16;

    private static readonly string[] Common =
    [
        "the", "of", "and", "to", "in", "is", "for", "that", "with", "on", "as", "are", "by", "this", "be", "from",
        "or", "it", "an", "can", "which", "when", "each", "time", "system", "data", "use", "used", "first", "new",
        "other", "between", "after", "also", "more", "number", "process", "value", "user", "service", "request",
        "change", "part", "group", "level", "result", "order", "case", "point", "state", "form", "line", "high",
        "report", "set", "rate", "support", "policy", "cost", "team", "customer", "account", "version", "release",
        "network", "storage", "payment", "contract", "schedule", "review", "access", "limit", "model", "file",
        "update", "record", "product", "market", "region", "quality", "design", "test", "error", "message",
        "document", "period", "default", "option", "travel", "route", "station", "device", "battery", "energy",
    ];

    private static readonly string[] Syllables =
    [
        "ka", "lo", "mi", "ren", "sa", "tor", "vel", "din", "qua", "bri", "zen", "mor", "pla", "sti", "gan", "hol",
        "ex", "ur", "fen", "cor", "lin", "tra", "dos", "nim", "ber", "wic", "jal", "pon", "ser", "tiv",
    ];

    public SyntheticCollection(int count)
    {
        var random = new Random(17);
        var pool = Enumerable.Range(0, 20_000).Select(i => Word(i)).ToArray();
        var topicWords = Enumerable.Range(0, Topics)
            .Select(_ => Enumerable.Range(0, 30).Select(_ => pool[Zipf(random, pool.Length)]).ToArray()).ToArray();
        var shared = Unit(random);
        var topicDirections = Enumerable.Range(0, Topics).Select(_ => Unit(random)).ToArray();
        var start = GC.GetTotalMemory(true);
        var items = new KnowledgeItem[count];
        Vectors = new float[count][];
        for (var i = 0; i < count; i++)
        {
            // Documents of a few chunks on one topic, as a collection of documents cut by the chunker.
            var topic = i / 4 * 7919 % Topics;
            Vectors[i] = Mix(shared, topicDirections[topic], Unit(random));
            items[i] = new KnowledgeItem($"doc{i / 4}#{i % 4}", Text(random, topicWords[topic], pool), Vectors[i]);
        }
        // The set keeps the vectors as rows, not these arrays (kept for CosinesPerItem): they are not counted.
        var arrays = count * (4L * Dimensions + 24);
        var texts = GC.GetTotalMemory(true) - start - arrays;
        Set = KnowledgeSet.Of(items);
        var held = GC.GetTotalMemory(true) - start - arrays;
        Console.WriteLine($"// {count:N0} chunks of {items.Average(i => i.Text.Length):N0} characters: the held set takes about {held / count:N0} B "
            + $"per chunk, {held / 1_048_576.0:N0} MB (texts and ids {texts / count:N0} B, vector rows and BM25 postings the rest)");
        Queries = [.. Enumerable.Range(0, Questions).Select(q =>
        {
            var words = topicWords[q * 61 % Topics];
            return $"What does the {words[q % 5]} guide say about {words[5 + q % 7]} and the {Common[20 + q]}?";
        })];
        QueryVectors = [.. Enumerable.Range(0, Questions).Select(q => Mix(shared, topicDirections[q * 61 % Topics], Unit(random)))];
    }

    public KnowledgeSet Set { get; }

    /// <summary>The chunks' vectors as one array each, as the set's items held them before <see cref="VectorRows"/>.</summary>
    public float[][] Vectors { get; }

    public string[] Queries { get; }

    public float[][] QueryVectors { get; }

    private static string Word(int i)
    {
        var word = new StringBuilder();
        for (var n = i; word.Length == 0 || n > 0; n /= Syllables.Length)
        {
            word.Append(Syllables[n % Syllables.Length]);
        }
        return word.ToString();
    }

    private static string Text(Random random, string[] topicWords, string[] pool)
    {
        var text = new StringBuilder();
        var words = random.Next(150, 300);
        for (var w = 0; w < words; w++)
        {
            var roll = random.NextDouble();
            var word = roll < 0.6 ? Common[Zipf(random, Common.Length)]
                : roll < 0.9 ? topicWords[Zipf(random, topicWords.Length)]
                : pool[Zipf(random, pool.Length)];
            var sentenceStart = text.Length == 0 || text[^1] == ' ' && text[^2] == '.';
            text.Append(sentenceStart ? char.ToUpperInvariant(word[0]) + word[1..] : word);
            text.Append(random.Next(12) == 0 ? ". " : " ");
        }
        return text.ToString().TrimEnd() + ".";
    }

    /// <summary>An index under a Zipf-like law (about 1/rank).</summary>
    private static int Zipf(Random random, int n) => Math.Min(n - 1, (int)Math.Exp(random.NextDouble() * Math.Log(n + 1)) - 1);

    private static float[] Unit(Random random)
    {
        var v = new float[Dimensions];
        for (var i = 0; i < v.Length; i++)
        {
            // Box-Muller: a direction uniform on the sphere.
            v[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        }
        return Normalize(v);
    }

    private static float[] Mix(float[] shared, float[] topic, float[] own) =>
        Normalize([.. Enumerable.Range(0, Dimensions).Select(d => 0.5f * shared[d] + 0.6f * topic[d] + 0.6f * own[d])]);

    private static float[] Normalize(float[] v)
    {
        var norm = MathF.Sqrt(v.Sum(x => x * x));
        return [.. v.Select(x => x / norm)];
    }
}
