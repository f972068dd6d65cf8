using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Tokenizers;

/// <summary>
/// tiktoken-exact byte-pair-encoding tokenizer for o200k_base and cl100k_base, as a Microsoft.ML.Tokenizers
/// <see cref="Tokenizer"/>. Immutable and thread-safe; one shared instance per encoding.
/// </summary>
/// <remarks>
/// Semantics are tiktoken's <c>encode(text, allowed_special=set(), disallowed_special=())</c>, which is what the
/// OpenAI API bills: special-token strings in the text are ordinary text, and lone surrogates count as U+FFFD.
/// Microsoft.ML.Tokenizers' own TiktokenTokenizer gives the same ids except there: it always reads
/// <c>&lt;|endoftext|&gt;</c> and <c>&lt;|endofprompt|&gt;</c> as special tokens, and encodes a lone surrogate as
/// its raw three bytes. Offsets follow that class: a token covers the characters its bytes touch, so the tokens of
/// one character that needs several share its range. There is no normalizer.
/// </remarks>
public sealed class ExactTiktokenTokenizer : Tokenizer
{
    // Pieces up to this many chars are transcoded on the stack; longer ones (rare: runs of spaces or symbols) rent.
    private const int StackPieceChars = 128;
    // Words that need merging are remembered by their text; bounded so that arbitrary input cannot grow memory.
    private const int MaxCachedWordChars = 64;
    private const int MaxCachedWords = 50_000;

    // From the special_tokens field of tiktoken@1.0.22's encoders/*.json.
    private static readonly Dictionary<string, int> O200kSpecialTokens = new()
    {
        ["<|endoftext|>"] = 199999,
        ["<|endofprompt|>"] = 200018,
    };

    private static readonly Dictionary<string, int> Cl100kSpecialTokens = new()
    {
        ["<|endoftext|>"] = 100257,
        ["<|fim_prefix|>"] = 100258,
        ["<|fim_middle|>"] = 100259,
        ["<|fim_suffix|>"] = 100260,
        ["<|endofprompt|>"] = 100276,
    };

    private static readonly Lazy<ExactTiktokenTokenizer> O200k = new(() => Load(ModelEncodings.O200kBase, O200kSpecialTokens));
    private static readonly Lazy<ExactTiktokenTokenizer> Cl100k = new(() => Load(ModelEncodings.Cl100kBase, Cl100kSpecialTokens));

    private readonly Vocabulary _vocabulary;
    private readonly TiktokenPreTokenizer _preTokenizer;
    private readonly bool _isO200k;
    private readonly ConcurrentDictionary<string, int> _wordCounts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _wordCountsBySpan;
    private int _cachedWords;
    private readonly HotPieceCache _hotPieces = new();

    private ExactTiktokenTokenizer(string encodingName, Vocabulary vocabulary)
    {
        EncodingName = encodingName;
        _vocabulary = vocabulary;
        _preTokenizer = TiktokenPreTokenizer.ForEncoding(encodingName);
        _isO200k = encodingName == ModelEncodings.O200kBase;
        _wordCountsBySpan = _wordCounts.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Encoding name: <c>o200k_base</c> or <c>cl100k_base</c>.</summary>
    public string EncodingName { get; }

    /// <summary>The encoding's split pattern, as hand-written code (no regex).</summary>
    public override PreTokenizer PreTokenizer => _preTokenizer;

    /// <summary>Throws <see cref="NotSupportedException"/> listing the supported model families for an unknown model.</summary>
    public static ExactTiktokenTokenizer CreateForModel(string model) =>
        TryGetEncodingForModel(model, out var encoding)
            ? CreateForEncoding(encoding)
            : throw new NotSupportedException($"Unknown model '{model}'. Supported models: {SupportedModelsDescription}.");

    /// <summary>Returns false for an unknown model instead of throwing.</summary>
    public static bool TryGetEncodingForModel(string model, out string encodingName) => ModelEncodings.TryGet(model, out encodingName);

    /// <summary>Human-readable list of supported model families, for error messages.</summary>
    public static string SupportedModelsDescription => ModelEncodings.Description;

    public static ExactTiktokenTokenizer CreateForEncoding(string encodingName) => encodingName switch
    {
        ModelEncodings.O200kBase => O200k.Value,
        ModelEncodings.Cl100kBase => Cl100k.Value,
        _ => throw new NotSupportedException($"Unknown encoding '{encodingName}'. Supported encodings: o200k_base, cl100k_base."),
    };

    /// <summary>The hot path: no allocation once the caches are warm, unless a limit is set.</summary>
    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var span = text is null ? textSpan : text.AsSpan();
        if (settings.MaxTokenCount != int.MaxValue)
        {
            return Encode(span, settings, ids: null, tokens: null).Count;
        }

        return settings.ConsiderPreTokenization ? Count(span) : span.IsEmpty ? 0 : CountPiece(span, stackalloc byte[StackPieceChars * 3]);
    }

    // The loop of the count path on its own, calling the splitter directly: with the limit and no-split cases folded
    // into it, the first override counted 15-30% slower than the class did before it became a Tokenizer.
    private int Count(ReadOnlySpan<char> text)
    {
        Span<byte> buffer = stackalloc byte[StackPieceChars * 3];
        var count = 0;
        for (var start = 0; start < text.Length;)
        {
            var end = _isO200k ? PreTokenSplitter.NextO200k(text, start) : PreTokenSplitter.NextCl100k(text, start);
            count += CountPiece(text[start..end], buffer);
            start = end;
        }

        return count;
    }

    protected override EncodeResults<int> EncodeToIds(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var span = text is null ? textSpan : text.AsSpan();
        var ids = new List<int>(span.Length / 3 + 1);
        var (_, consumed) = Encode(span, settings, ids, tokens: null);
        return new EncodeResults<int> { Tokens = ids, CharsConsumed = consumed };
    }

    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var span = text is null ? textSpan : text.AsSpan();
        var ranges = new List<(int Id, int Start, int End)>(span.Length / 3 + 1);
        var (_, consumed) = Encode(span, settings, ids: null, ranges);
        var tokens = new EncodedToken[ranges.Count];
        for (var i = 0; i < tokens.Length; i++)
        {
            var (id, start, end) = ranges[i];
            tokens[i] = new EncodedToken(id, span[start..end].ToString(), start..end);
        }

        return new EncodeResults<EncodedToken> { Tokens = tokens, CharsConsumed = consumed };
    }

    /// <summary>
    /// The cut within <see cref="EncodeSettings.MaxTokenCount"/> tokens. Stricter than the base class: the kept
    /// part is re-encoded on its own, since a cut inside a pre-token can split the rest differently, and the cut
    /// moves until that part really fits; <paramref name="tokenCount"/> is its exact count. Never splits a character.
    /// </summary>
    protected override int GetIndexByTokenCount(
        string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings, bool fromEnd, out string? normalizedText, out int tokenCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(settings.MaxTokenCount);
        normalizedText = null;
        var span = text is null ? textSpan : text.AsSpan();
        var max = settings.MaxTokenCount;
        var whole = settings with { MaxTokenCount = int.MaxValue };

        // Token ends that fall on a character boundary, with the number of tokens up to them, in text order.
        var cuts = new List<(int Index, int Tokens)> { (0, 0) };
        var state = new WalkState(cuts, fromEnd ? int.MaxValue : max);
        Walk(span, settings.ConsiderPreTokenization, state, static (s, _, _, end, boundary) =>
        {
            if (++s.Count > s.Max)
            {
                return false;
            }

            if (boundary)
            {
                s.Cuts.Add((end, s.Count));
            }

            return true;
        });

        if (!fromEnd)
        {
            for (var i = cuts.Count - 1; i > 0; i--)
            {
                var count = CountTokens(null, span[..cuts[i].Index], whole);
                if (count <= max)
                {
                    tokenCount = count;
                    return cuts[i].Index;
                }
            }

            tokenCount = 0;
            return 0;
        }

        var total = cuts[^1].Tokens;
        foreach (var (index, tokens) in cuts)
        {
            if (total - tokens > max || index == span.Length)
            {
                continue;
            }

            var count = CountTokens(null, span[index..], whole);
            if (count <= max)
            {
                tokenCount = count;
                return index;
            }
        }

        tokenCount = 0;
        return span.Length;
    }

    public override string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new ArrayBufferWriter<byte>();
        foreach (var id in ids)
        {
            bytes.Write(TokenBytes(id));
        }

        // Ids that split a character decode to U+FFFD, as tiktoken's decode with errors="replace" does.
        return Encoding.UTF8.GetString(bytes.WrittenSpan);
    }

    /// <summary>
    /// Writes whole characters only: ids whose bytes end inside a character wait for the ids that complete it
    /// (<see cref="OperationStatus.NeedMoreData"/> if none do); an id outside the vocabulary is
    /// <see cref="OperationStatus.InvalidData"/>. Invalid UTF-8 between complete characters reads as U+FFFD.
    /// </summary>
    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten)
    {
        ArgumentNullException.ThrowIfNull(ids);
        idsConsumed = 0;
        charsWritten = 0;
        var pending = new ArrayBufferWriter<byte>();
        var pendingIds = 0;
        foreach (var id in ids)
        {
            if (!_vocabulary.TryGetTokenBytes(id, out var token))
            {
                return OperationStatus.InvalidData;
            }

            pending.Write(token);
            pendingIds++;
            var status = Utf8.ToUtf16(pending.WrittenSpan, destination[charsWritten..], out var read, out var written,
                replaceInvalidSequences: true, isFinalBlock: false);
            if (status == OperationStatus.DestinationTooSmall)
            {
                return status;
            }

            if (read == pending.WrittenCount)
            {
                charsWritten += written;
                idsConsumed += pendingIds;
                pendingIds = 0;
                pending.ResetWrittenCount();
            }
        }

        return pendingIds == 0 ? OperationStatus.Done : OperationStatus.NeedMoreData;
    }

    private ReadOnlySpan<byte> TokenBytes(int id) =>
        _vocabulary.TryGetTokenBytes(id, out var token)
            ? token
            : throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} is not part of {EncodingName}.");

    /// <summary>
    /// Tokens up to <see cref="EncodeSettings.MaxTokenCount"/>, ending on a character boundary, into
    /// <paramref name="ids"/> or <paramref name="tokens"/>; the count and the characters they cover.
    /// </summary>
    private (int Count, int CharsConsumed) Encode(
        ReadOnlySpan<char> text, EncodeSettings settings, List<int>? ids, List<(int Id, int Start, int End)>? tokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(settings.MaxTokenCount);
        var state = new EncodeState(_vocabulary, settings.MaxTokenCount, ids, tokens);
        Walk(text, settings.ConsiderPreTokenization, state, static (s, bytes, start, end, boundary) =>
        {
            if (s.Count == s.Max)
            {
                return false;
            }

            s.Count++;
            var id = s.Vocabulary.Rank(bytes);
            s.Ids?.Add(id);
            s.Tokens?.Add((id, start, end));
            if (boundary)
            {
                s.Kept = s.Count;
                s.Consumed = end;
            }

            return true;
        });

        // Tokens past the last boundary are part of a character whose other tokens did not fit.
        Trim(ids, state.Kept);
        Trim(tokens, state.Kept);
        return (state.Kept, state.Consumed);

        static void Trim<T>(List<T>? list, int count)
        {
            if (list is not null && list.Count > count)
            {
                list.RemoveRange(count, list.Count - count);
            }
        }
    }

    private sealed class EncodeState(Vocabulary vocabulary, int max, List<int>? ids, List<(int, int, int)>? tokens)
    {
        public Vocabulary Vocabulary { get; } = vocabulary;
        public int Max { get; } = max;
        public List<int>? Ids { get; } = ids;
        public List<(int Id, int Start, int End)>? Tokens { get; } = tokens;
        public int Count { get; set; }
        public int Kept { get; set; }
        public int Consumed { get; set; }
    }

    private sealed class WalkState(List<(int Index, int Tokens)> cuts, int max)
    {
        public List<(int Index, int Tokens)> Cuts { get; } = cuts;
        public int Max { get; } = max;
        public int Count { get; set; }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int NextPieceEnd(ReadOnlySpan<char> text, int start, bool split) =>
        split ? _preTokenizer.Next(text, start) : text.Length;

    private int CountPiece(ReadOnlySpan<char> piece, Span<byte> buffer)
    {
        if (piece.Length > StackPieceChars)
        {
            return CountLongPiece(piece);
        }

        var bytes = ToUtf8(piece, buffer);
        if (bytes.Length == 1)
        {
            return 1;
        }

        if (bytes.Length > HotPieceCache.MaxBytes)
        {
            return CountWarmPiece(piece, bytes);
        }

        var (low, high) = HotPieceCache.Key(buffer, bytes.Length);
        if (_hotPieces.TryGet(low, high, bytes.Length, out var count, out var slot))
        {
            return count;
        }

        count = CountWarmPiece(piece, bytes);
        _hotPieces.Set(slot, low, high, bytes.Length, count);
        return count;
    }

    private int CountWarmPiece(ReadOnlySpan<char> piece, ReadOnlySpan<byte> bytes)
    {
        if (_vocabulary.Rank(bytes) != Vocabulary.NotFound)
        {
            return 1;
        }

        var cacheable = piece.Length <= MaxCachedWordChars;
        if (cacheable && _wordCountsBySpan.TryGetValue(piece, out var cached))
        {
            return cached;
        }

        Span<int> bounds = stackalloc int[bytes.Length + 1];
        var count = BytePairEncoder.Merge(_vocabulary, bytes, bounds);
        if (cacheable && Volatile.Read(ref _cachedWords) < MaxCachedWords && _wordCountsBySpan.TryAdd(piece, count))
        {
            Interlocked.Increment(ref _cachedWords);
        }

        return count;
    }

    private int CountLongPiece(ReadOnlySpan<char> piece)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(piece.Length * 3);
        var bounds = ArrayPool<int>.Shared.Rent(piece.Length * 3 + 1);
        try
        {
            var bytes = ToUtf8(piece, buffer);
            return _vocabulary.Rank(bytes) != Vocabulary.NotFound ? 1 : BytePairEncoder.Merge(_vocabulary, bytes, bounds);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(bounds);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Calls <paramref name="onToken"/> for every token in order, until it returns false, with the token's bytes, the
    /// characters its bytes touch (start inclusive, end exclusive) and whether it ends where a character ends.
    /// </summary>
    private void Walk<TState>(ReadOnlySpan<char> text, bool split, TState state, TokenAction<TState> onToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(StackPieceChars * 3);
        var bounds = ArrayPool<int>.Shared.Rent(StackPieceChars * 3 + 1);
        try
        {
            for (var start = 0; start < text.Length;)
            {
                var end = NextPieceEnd(text, start, split);
                var piece = text[start..end];
                if (buffer.Length < piece.Length * 3)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    ArrayPool<int>.Shared.Return(bounds);
                    buffer = ArrayPool<byte>.Shared.Rent(piece.Length * 3);
                    bounds = ArrayPool<int>.Shared.Rent(piece.Length * 3 + 1);
                }

                var bytes = ToUtf8(piece, buffer);
                if (_vocabulary.Rank(bytes) != Vocabulary.NotFound)
                {
                    if (!onToken(state, bytes, start, end, true))
                    {
                        return;
                    }
                }
                else if (!WalkMerged(piece, start, bytes, bounds, state, onToken))
                {
                    return;
                }

                start = end;
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(bounds);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private bool WalkMerged<TState>(
        ReadOnlySpan<char> piece, int offset, ReadOnlySpan<byte> bytes, Span<int> bounds, TState state, TokenAction<TState> onToken)
    {
        var parts = BytePairEncoder.Merge(_vocabulary, bytes, bounds);
        // The character that holds the next token's first byte, and the byte where that character starts.
        var charIndex = 0;
        var byteIndex = 0;
        for (var k = 0; k < parts; k++)
        {
            while (byteIndex + Utf8Length(piece, charIndex) <= bounds[k])
            {
                byteIndex += Utf8Length(piece, charIndex);
                charIndex += CharWidth(piece, charIndex);
            }

            var first = charIndex;
            // Find the character that holds the token's last byte.
            var lastChar = charIndex;
            var lastByte = byteIndex;
            while (lastByte + Utf8Length(piece, lastChar) < bounds[k + 1])
            {
                lastByte += Utf8Length(piece, lastChar);
                lastChar += CharWidth(piece, lastChar);
            }

            var end = lastChar + CharWidth(piece, lastChar);
            var boundary = lastByte + Utf8Length(piece, lastChar) == bounds[k + 1];
            if (!onToken(state, bytes[bounds[k]..bounds[k + 1]], offset + first, offset + end, boundary))
            {
                return false;
            }

            (charIndex, byteIndex) = boundary ? (end, bounds[k + 1]) : (lastChar, lastByte);
        }

        return true;
    }

    private delegate bool TokenAction<in TState>(TState state, ReadOnlySpan<byte> token, int charStart, int charEnd, bool endsOnBoundary);

    private static int CharWidth(ReadOnlySpan<char> text, int index) =>
        char.IsHighSurrogate(text[index]) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]) ? 2 : 1;

    private static int Utf8Length(ReadOnlySpan<char> text, int index)
    {
        var c = text[index];
        if (c < 0x80)
        {
            return 1;
        }

        if (c < 0x800)
        {
            return 2;
        }

        // A lone surrogate is U+FFFD: three bytes.
        return CharWidth(text, index) == 2 ? 4 : 3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ReadOnlySpan<byte> ToUtf8(ReadOnlySpan<char> chars, Span<byte> buffer)
    {
        var i = 0;
        for (; i < chars.Length; i++)
        {
            var c = chars[i];
            if (c >= 0x80)
            {
                // Lone surrogates become U+FFFD (EF BF BD), exactly what tiktoken's JavaScript binding sees.
                Utf8.FromUtf16(chars[i..], buffer[i..], out _, out var written, replaceInvalidSequences: true);
                return buffer[..(i + written)];
            }

            buffer[i] = (byte)c;
        }

        return buffer[..i];
    }

    private static ExactTiktokenTokenizer Load(string encodingName, Dictionary<string, int> specialTokens)
    {
        var resource = encodingName + ".tiktoken.gz";
        using var stream = typeof(ExactTiktokenTokenizer).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded vocabulary {resource} is missing.");
        return new ExactTiktokenTokenizer(encodingName, Vocabulary.Load(stream, specialTokens));
    }
}
