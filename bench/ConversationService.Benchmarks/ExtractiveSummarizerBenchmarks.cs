extern alias service;

using BenchmarkDotNet.Attributes;
using service::ConversationService.Summaries;
using ConversationService.Tokenizers;

namespace ConversationService.Benchmarks;

/// <summary>
/// The offline summarizer's work for one summary as the trigger asks for it under default settings: about 80 LoCoMo
/// turns (1,500 tokens and more beyond the recent window) folded into the previous 200-token summary.
/// </summary>
[MemoryDiagnoser]
public class ExtractiveSummarizerBenchmarks
{
    private readonly ExactTiktokenTokenizer _tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");
    private SummaryTurn[] _turns = [];
    private string _previous = "";

    [GlobalSetup]
    public void Setup()
    {
        var texts = LocomoTurns.Load();
        _turns = texts.Take(80).Select((t, i) => new SummaryTurn(i + 1, i % 2 == 0 ? "user" : "assistant", null, t)).ToArray();
        var earlier = texts.Skip(80).Take(80).Select((t, i) => new SummaryTurn(i + 1, "user", null, t)).ToArray();
        _previous = ExtractiveSummarizer.Summarize(null, earlier, 200, _tokenizer);
    }

    [Benchmark]
    public string Summarize() => ExtractiveSummarizer.Summarize(_previous, _turns, 200, _tokenizer);
}
