using BenchmarkDotNet.Running;
using ConversationService.Benchmarks;

// --compare and --load are quick console modes for scripts/tokenizer/compare-speed.mjs, --embedding-model prints the
// local model's load time, memory and indexing CPU; anything else goes to BenchmarkDotNet.
switch (args)
{
    case ["--compare", .. var rest]:
        Compare.Speed(rest.FirstOrDefault());
        break;
    case ["--load", var encoding, .. var which]:
        Compare.Load(encoding, which.FirstOrDefault() ?? ConversationService.Benchmarks.Tokenizers.Exact);
        break;
    case ["--embedding-model"]:
        EmbeddingModelFigures.Print();
        break;
    default:
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        break;
}
