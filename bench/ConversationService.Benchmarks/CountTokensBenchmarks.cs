using BenchmarkDotNet.Attributes;
using ConversationService.Tokenizers;

namespace ConversationService.Benchmarks;

/// <summary>Counts every LoCoMo turn one by one, as the service does at append time.</summary>
[MemoryDiagnoser]
public class CountTokensBenchmarks
{
    private string[] _turns = [];
    private ExactTiktokenTokenizer _tokenizer = null!;

    [Params("o200k_base", "cl100k_base")]
    public string Encoding { get; set; } = "o200k_base";

    [GlobalSetup]
    public void Setup()
    {
        _turns = LocomoTurns.Load();
        _tokenizer = ExactTiktokenTokenizer.CreateForEncoding(Encoding);
    }

    [Benchmark]
    public int CountLocomoTurns()
    {
        var total = 0;
        foreach (var turn in _turns)
        {
            total += _tokenizer.CountTokens(turn);
        }

        return total;
    }

    [Benchmark]
    public int EncodeLocomoTurns()
    {
        var total = 0;
        foreach (var turn in _turns)
        {
            total += _tokenizer.EncodeToIds(turn).Count;
        }

        return total;
    }
}
