using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;

namespace ConversationService.Tokenizers;

/// <summary>One chat message as counted by OpenAI's chat format.</summary>
public readonly record struct ChatMessage(string Role, string Content, string? Name = null);

/// <summary>
/// tiktoken-compatible byte-pair-encoding tokenizer (o200k_base, cl100k_base), shaped like
/// Microsoft.ML.Tokenizers' TiktokenTokenizer. Immutable and thread-safe; one shared instance per encoding.
/// </summary>
/// <remarks>
/// Semantics are tiktoken's <c>encode(text, allowed_special=set(), disallowed_special=())</c>: special-token strings
/// in the text are ordinary text. Lone surrogates count as U+FFFD, as in tiktoken's JavaScript binding.
/// </remarks>
public sealed class TiktokenTokenizer
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

    private static readonly Lazy<TiktokenTokenizer> O200k = new(() => Load(ModelEncodings.O200kBase, O200kSpecialTokens, isO200k: true));
    private static readonly Lazy<TiktokenTokenizer> Cl100k = new(() => Load(ModelEncodings.Cl100kBase, Cl100kSpecialTokens, isO200k: false));

    private readonly Vocabulary _vocabulary;
    private readonly bool _isO200k;
    private readonly ConcurrentDictionary<string, int> _wordCounts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _wordCountsBySpan;
    private int _cachedWords;
    private readonly HotPieceCache _hotPieces = new();

    private TiktokenTokenizer(string encodingName, Vocabulary vocabulary, bool isO200k)
    {
        EncodingName = encodingName;
        _vocabulary = vocabulary;
        _isO200k = isO200k;
        _wordCountsBySpan = _wordCounts.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Encoding name: <c>o200k_base</c> or <c>cl100k_base</c>.</summary>
    public string EncodingName { get; }

    /// <summary>Throws <see cref="NotSupportedException"/> listing the supported model families for an unknown model.</summary>
    public static TiktokenTokenizer CreateForModel(string model) =>
        TryGetEncodingForModel(model, out var encoding)
            ? CreateForEncoding(encoding)
            : throw new NotSupportedException($"Unknown model '{model}'. Supported models: {SupportedModelsDescription}.");

    /// <summary>Returns false for an unknown model instead of throwing.</summary>
    public static bool TryGetEncodingForModel(string model, out string encodingName) => ModelEncodings.TryGet(model, out encodingName);

    /// <summary>Human-readable list of supported model families, for error messages.</summary>
    public static string SupportedModelsDescription => ModelEncodings.Description;

    public static TiktokenTokenizer CreateForEncoding(string encodingName) => encodingName switch
    {
        ModelEncodings.O200kBase => O200k.Value,
        ModelEncodings.Cl100kBase => Cl100k.Value,
        _ => throw new NotSupportedException($"Unknown encoding '{encodingName}'. Supported encodings: o200k_base, cl100k_base."),
    };

    public int CountTokens(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return CountTokens(text.AsSpan());
    }

    public int CountTokens(ReadOnlySpan<char> text)
    {
        Span<byte> buffer = stackalloc byte[StackPieceChars * 3];
        var count = 0;
        for (var start = 0; start < text.Length;)
        {
            var end = NextPieceEnd(text, start);
            count += CountPiece(text[start..end], buffer);
            start = end;
        }

        return count;
    }

    public IReadOnlyList<int> EncodeToIds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 1);
        ForEachToken(text, (ids, _vocabulary), static (state, bytes, _) =>
        {
            state.ids.Add(state._vocabulary.Rank(bytes));
            return true;
        });
        return ids;
    }

    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var bytes = new ArrayBufferWriter<byte>();
        foreach (var id in ids)
        {
            if (!_vocabulary.TryGetTokenBytes(id, out var token))
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is not part of {EncodingName}.");
            }

            bytes.Write(token);
        }

        // Ids that split a character decode to U+FFFD, as tiktoken's decode with errors="replace" does.
        return Encoding.UTF8.GetString(bytes.WrittenSpan);
    }

    /// <summary>
    /// Like Microsoft.ML.Tokenizers' GetIndexByTokenCount: the char index at which the text must be cut so that
    /// text[..index] encodes to at most <paramref name="maxTokenCount"/> tokens; <paramref name="tokenCount"/> receives that count.
    /// </summary>
    public int GetIndexByTokenCount(string text, int maxTokenCount, out int tokenCount)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegative(maxTokenCount);

        // Candidate cuts are token ends that fall on a character boundary, in text order.
        var cuts = new List<int> { 0 };
        var tokens = new StrongBox<int>(0);
        ForEachToken(text, (cuts, tokens, maxTokenCount), static (s, _, charEnd) =>
        {
            s.tokens.Value++;
            if (s.tokens.Value > s.maxTokenCount)
            {
                return false;
            }

            if (charEnd >= 0)
            {
                s.cuts.Add(charEnd);
            }

            return true;
        });

        // Cutting inside a pre-token can re-split it; confirm the count of the prefix and step back if it grew.
        for (var i = cuts.Count - 1; i > 0; i--)
        {
            var count = CountTokens(text.AsSpan(0, cuts[i]));
            if (count <= maxTokenCount)
            {
                tokenCount = count;
                return cuts[i];
            }
        }

        tokenCount = 0;
        return 0;
    }

    /// <summary>Prompt tokens of a chat request: per message 3 + role + content (+ name + 1), plus 3 for reply priming.</summary>
    public int CountChatTokens(IEnumerable<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var total = 3;
        foreach (var message in messages)
        {
            total += CountMessageTokens(message.Role, message.Content, message.Name);
        }

        return total;
    }

    /// <summary>Tokens one message adds to a chat prompt (without the 3 of reply priming).</summary>
    public int CountMessageTokens(string role, string content, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(role);
        ArgumentNullException.ThrowIfNull(content);
        var tokens = 3 + CountTokens(role) + CountTokens(content);
        return name is null ? tokens : tokens + CountTokens(name) + 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int NextPieceEnd(ReadOnlySpan<char> text, int start) =>
        _isO200k ? PreTokenizer.NextO200k(text, start) : PreTokenizer.NextCl100k(text, start);

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
    /// Calls <paramref name="onToken"/> for every token in order with its bytes and the char index where it ends
    /// (-1 when it ends inside a character), until the callback returns false.
    /// </summary>
    private void ForEachToken<TState>(string text, TState state, TokenAction<TState> onToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(StackPieceChars * 3);
        var bounds = ArrayPool<int>.Shared.Rent(StackPieceChars * 3 + 1);
        try
        {
            var span = text.AsSpan();
            for (var start = 0; start < span.Length;)
            {
                var end = NextPieceEnd(span, start);
                var piece = span[start..end];
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
                    if (!onToken(state, bytes, end))
                    {
                        return;
                    }
                }
                else
                {
                    var parts = BytePairEncoder.Merge(_vocabulary, bytes, bounds);
                    var charIndex = start;
                    var byteIndex = 0;
                    for (var k = 0; k < parts; k++)
                    {
                        // Advance whole characters while they fit inside this token's bytes.
                        while (charIndex < end && byteIndex + Utf8Length(span, charIndex) <= bounds[k + 1])
                        {
                            byteIndex += Utf8Length(span, charIndex);
                            charIndex += char.IsHighSurrogate(span[charIndex]) && charIndex + 1 < end && char.IsLowSurrogate(span[charIndex + 1]) ? 2 : 1;
                        }

                        if (!onToken(state, bytes[bounds[k]..bounds[k + 1]], byteIndex == bounds[k + 1] ? charIndex : -1))
                        {
                            return;
                        }
                    }
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

    private delegate bool TokenAction<in TState>(TState state, ReadOnlySpan<byte> token, int charEnd);

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

        return char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]) ? 4 : 3;
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

    private static TiktokenTokenizer Load(string encodingName, Dictionary<string, int> specialTokens, bool isO200k)
    {
        var resource = encodingName + ".tiktoken.gz";
        using var stream = typeof(TiktokenTokenizer).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded vocabulary {resource} is missing.");
        return new TiktokenTokenizer(encodingName, Vocabulary.Load(stream, specialTokens), isO200k);
    }
}
