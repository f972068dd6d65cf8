extern alias service;

using BenchmarkDotNet.Attributes;
using service::ConversationService.Embeddings;

namespace ConversationService.Benchmarks;

/// <summary>
/// The local embedding model (snowflake-arctic-embed-xs, one ONNX Runtime thread): LoCoMo turns embedded as documents
/// in one call, as the embedding projection sends them (per sentence: 64 turns per invocation), and one question
/// embedded as a query, as a context request does when its query is not cached.
/// </summary>
[MemoryDiagnoser]
public class EmbeddingBenchmarks : IDisposable
{
    private const int Batch = 64;
    private ArcticEmbeddingGenerator _generator = null!;
    private string[] _turns = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _generator = new ArcticEmbeddingGenerator(ArcticModel.Packaged.Value, concurrency: 1);
        _turns = LocomoTurns.Load();
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _generator.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public async Task<int> TurnAsDocument()
    {
        var start = _next;
        _next = (_next + Batch) % (_turns.Length - Batch);
        return (await _generator.GenerateAsync(_turns[start..(start + Batch)])).Count;
    }

    [Benchmark]
    public async Task<int> Query()
    {
        var question = _turns[_next++ % _turns.Length];
        return (await _generator.GenerateAsync([question], EmbeddingPurpose.Query())).Count;
    }
}
