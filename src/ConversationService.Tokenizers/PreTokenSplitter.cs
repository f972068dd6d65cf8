using System.Runtime.CompilerServices;
using static ConversationService.Tokenizers.CharClass;

namespace ConversationService.Tokenizers;

/// <summary>
/// Hand-written equivalents of tiktoken's split patterns. Each method returns the end of the regex match that
/// starts at <c>start</c>, following the backtracking order of the pattern's alternatives; the golden parity
/// tests hold them to tiktoken's output.
/// </summary>
internal static class PreTokenSplitter
{
    /// <summary>
    /// o200k_base: <c>[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
    /// |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
    /// |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.
    /// </summary>
    public static int NextO200k(ReadOnlySpan<char> text, int start)
    {
        var ascii = AsciiWord(text, start, caseSplit: true);
        if (ascii > 0)
        {
            return Contraction(text, ascii);
        }

        var first = At(text, start, out var width);
        var prefixable = (first & (Letter | Number | LineBreak)) == 0;
        if ((first & (UpperLike | LowerLike)) != 0 || prefixable)
        {
            int end;
            if ((prefixable && start + width < text.Length && (end = CasedWordLowerTail(text, start + width)) > 0)
                || (end = CasedWordLowerTail(text, start)) > 0
                || (prefixable && start + width < text.Length && (end = CasedWordUpperHead(text, start + width)) > 0)
                || (end = CasedWordUpperHead(text, start)) > 0)
            {
                return Contraction(text, end);
            }
        }

        if ((first & Number) != 0)
        {
            return Digits(text, start, width);
        }

        var punctuation = Punctuation(text, start, first);
        if (punctuation > 0)
        {
            var end = punctuation;
            while (end < text.Length && text[end] is '\r' or '\n' or '/')
            {
                end++;
            }

            return end;
        }

        return WhiteSpace(text, start);
    }

    /// <summary>
    /// cl100k_base: <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.
    /// </summary>
    public static int NextCl100k(ReadOnlySpan<char> text, int start)
    {
        // An apostrophe may open a contraction, which this pattern tries before words.
        var ascii = text[start] == '\'' ? 0 : AsciiWord(text, start, caseSplit: false);
        if (ascii > 0)
        {
            return ascii;
        }

        if (text[start] == '\'')
        {
            var contraction = Contraction(text, start);
            if (contraction > start)
            {
                return contraction;
            }
        }

        var first = At(text, start, out var width);
        if ((first & Letter) != 0)
        {
            return Run(text, start, Letter);
        }

        if ((first & (Number | LineBreak)) == 0 && start + width < text.Length && (At(text, start + width, out _) & Letter) != 0)
        {
            return Run(text, start + width, Letter);
        }

        if ((first & Number) != 0)
        {
            return Digits(text, start, width);
        }

        var punctuation = Punctuation(text, start, first);
        if (punctuation > 0)
        {
            var end = punctuation;
            while (end < text.Length && text[end] is '\r' or '\n')
            {
                end++;
            }

            return end;
        }

        return WhiteSpace(text, start);
    }

    // Fast path for the common case, an ASCII word with an optional ASCII prefix (" word", "(Word"): o200k_base
    // takes [A-Z]*[a-z]* after the prefix, cl100k_base [A-Za-z]*. Returns 0 to defer to the general scanner, also
    // when the word runs into a non-ASCII character that might continue it ("café").
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int AsciiWord(ReadOnlySpan<char> text, int start, bool caseSplit)
    {
        var from = start;
        var c = text[start];
        if (!char.IsAsciiLetter(c))
        {
            if (c >= 0x80 || c is '\r' or '\n' || char.IsAsciiDigit(c))
            {
                return 0;
            }

            from++;
        }

        var end = from;
        if (caseSplit)
        {
            while (end < text.Length && char.IsAsciiLetterUpper(text[end]))
            {
                end++;
            }

            while (end < text.Length && char.IsAsciiLetterLower(text[end]))
            {
                end++;
            }
        }
        else
        {
            while (end < text.Length && char.IsAsciiLetter(text[end]))
            {
                end++;
            }
        }

        return end > from && (end == text.Length || text[end] < 0x80) ? end : 0;
    }

    // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ : the greedy head gives back characters until the
    // tail can start, so the match ends after the longest lower-like run that follows the head, or else just after
    // the last head character that is itself lower-like. Returns 0 when there is no match.
    private static int CasedWordLowerTail(ReadOnlySpan<char> text, int from)
    {
        var i = from;
        var lastLowerLikeEnd = 0;
        while (i < text.Length)
        {
            var cls = At(text, i, out var width);
            if ((cls & UpperLike) == 0)
            {
                if ((cls & LowerLike) != 0)
                {
                    return Run(text, i, LowerLike);
                }

                break;
            }

            i += width;
            if ((cls & LowerLike) != 0)
            {
                lastLowerLikeEnd = i;
            }
        }

        return lastLowerLikeEnd;
    }

    // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*
    private static int CasedWordUpperHead(ReadOnlySpan<char> text, int from)
    {
        var head = Run(text, from, UpperLike);
        return head == from ? 0 : Run(text, head, LowerLike);
    }

    // (?i:'s|'t|'re|'ve|'m|'ll|'d) at index; returns index itself when absent. Case-insensitive matching in Rust's
    // regex uses Unicode simple case folding, under which U+017F (long s) equals 's'.
    private static int Contraction(ReadOnlySpan<char> text, int index)
    {
        if (index + 1 >= text.Length || text[index] != '\'')
        {
            return index;
        }

        switch (text[index + 1])
        {
            case 's' or 'S' or '\u017F' or 't' or 'T' or 'm' or 'M' or 'd' or 'D':
                return index + 2;
            case 'r' or 'R' or 'v' or 'V' when index + 2 < text.Length && text[index + 2] is 'e' or 'E':
            case 'l' or 'L' when index + 2 < text.Length && text[index + 2] is 'l' or 'L':
                return index + 3;
            default:
                return index;
        }
    }

    // \p{N}{1,3}
    private static int Digits(ReadOnlySpan<char> text, int start, int width)
    {
        var end = start + width;
        for (var n = 1; n < 3 && end < text.Length; n++)
        {
            if ((At(text, end, out var w) & Number) == 0)
            {
                break;
            }

            end += w;
        }

        return end;
    }

    //  ?[^\s\p{L}\p{N}]+ ; returns 0 when there is no match.
    private static int Punctuation(ReadOnlySpan<char> text, int start, int first)
    {
        var from = start;
        if (text[start] == ' ')
        {
            if (start + 1 >= text.Length)
            {
                return 0;
            }

            from = start + 1;
            first = At(text, from, out _);
        }

        return IsPunctuation(first) ? Run(text, from, Space | Letter | Number, stopOnAny: true) : 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsPunctuation(int cls) => (cls & (Space | Letter | Number)) == 0;

    // \s*[\r\n]+|\s+(?!\S)|\s+ for a run of white space starting at start.
    private static int WhiteSpace(ReadOnlySpan<char> text, int start)
    {
        var end = start;
        var lastLineBreakEnd = 0;
        while (end < text.Length && (At(text, end, out _) & Space) != 0)
        {
            if (text[end] is '\r' or '\n')
            {
                lastLineBreakEnd = end + 1;
            }

            end++;
        }

        if (lastLineBreakEnd > 0)
        {
            return lastLineBreakEnd;
        }

        // \s+(?!\S) leaves the last blank to prefix the next word; white space is always one UTF-16 unit.
        return end == text.Length || end - start == 1 ? end : end - 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Run(ReadOnlySpan<char> text, int from, int classes, bool stopOnAny = false)
    {
        var i = from;
        while (i < text.Length)
        {
            var cls = At(text, i, out var width);
            var member = (cls & classes) != 0;
            if (member == stopOnAny)
            {
                break;
            }

            i += width;
        }

        return i;
    }
}
