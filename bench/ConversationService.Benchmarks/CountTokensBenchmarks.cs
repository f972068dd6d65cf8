using BenchmarkDotNet.Attributes;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Benchmarks;

/// <summary>
/// Counts (and encodes) every LoCoMo turn one by one, as the service does at append time, with the project's exact
/// BPE and with Microsoft.ML.Tokenizers' TiktokenTokenizer, both through the <see cref="Tokenizer"/> abstraction.
/// </summary>
[MemoryDiagnoser]
public class CountTokensBenchmarks
{
    private string[] _turns = [];
    private Tokenizer _tokenizer = null!;

    [Params("o200k_base", "cl100k_base")]
    public string Encoding { get; set; } = "o200k_base";

    [Params(Tokenizers.Exact, Tokenizers.Ml)]
    public string Tokenizer { get; set; } = Tokenizers.Exact;

    [GlobalSetup]
    public void Setup()
    {
        _turns = LocomoTurns.Load();
        _tokenizer = Tokenizers.Create(Tokenizer, Encoding);
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
