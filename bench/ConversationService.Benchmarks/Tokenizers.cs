using ConversationService.Tokenizers;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Benchmarks;

/// <summary>The two tokenizers the benchmarks compare, by name.</summary>
internal static class Tokenizers
{
    public const string Exact = "Exact";
    public const string Ml = "ML.Tokenizers";

    public static Tokenizer Create(string name, string encoding) => name switch
    {
        Exact => ExactTiktokenTokenizer.CreateForEncoding(encoding),
        Ml => Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForEncoding(encoding),
        _ => throw new ArgumentException($"Unknown tokenizer '{name}': {Exact} or {Ml}.", nameof(name)),
    };
}
