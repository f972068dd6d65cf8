using System.Runtime.CompilerServices;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Tokenizers;

/// <summary>
/// The split pattern of o200k_base or cl100k_base as a Microsoft.ML.Tokenizers <see cref="PreTokenizer"/>, run by the
/// hand-written, tiktoken-exact splitter instead of a regex. Special-token strings are ordinary text.
/// </summary>
public sealed class TiktokenPreTokenizer : PreTokenizer
{
    public static TiktokenPreTokenizer O200kBase { get; } = new(isO200k: true);

    public static TiktokenPreTokenizer Cl100kBase { get; } = new(isO200k: false);

    private readonly bool _isO200k;

    private TiktokenPreTokenizer(bool isO200k) => _isO200k = isO200k;

    /// <summary>Names the encodings whose patterns this class knows.</summary>
    public static IReadOnlyList<string> Encodings { get; } = [ModelEncodings.O200kBase, ModelEncodings.Cl100kBase];

    public static bool TryGet(string encodingName, out TiktokenPreTokenizer preTokenizer)
    {
        preTokenizer = encodingName switch
        {
            ModelEncodings.O200kBase => O200kBase,
            ModelEncodings.Cl100kBase => Cl100kBase,
            _ => null!,
        };
        return preTokenizer is not null;
    }

    internal static TiktokenPreTokenizer ForEncoding(string encodingName) =>
        TryGet(encodingName, out var preTokenizer) ? preTokenizer : throw new NotSupportedException($"Unknown encoding '{encodingName}'.");

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var start = 0; start < text.Length;)
        {
            var end = Next(text, start);
            yield return (start, end - start);
            start = end;
        }
    }

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text)
    {
        var splits = new List<(int Offset, int Length)>();
        for (var start = 0; start < text.Length;)
        {
            var end = Next(text, start);
            splits.Add((start, end - start));
            start = end;
        }

        return splits;
    }

    /// <summary>The end of the pre-token that starts at <paramref name="start"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Next(ReadOnlySpan<char> text, int start) =>
        _isO200k ? PreTokenSplitter.NextO200k(text, start) : PreTokenSplitter.NextCl100k(text, start);
}
