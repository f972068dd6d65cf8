using System.Globalization;
using System.Runtime.CompilerServices;

namespace ConversationService.Tokenizers;

/// <summary>
/// The Unicode classes that tiktoken's split patterns test, as bit flags per code point. A lookup table for the
/// BMP keeps the scanner free of category switches; supplementary code points are classified on the fly.
/// </summary>
internal static class CharClass
{
    public const byte Letter = 1;        // \p{L}
    public const byte UpperLike = 2;     // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]
    public const byte LowerLike = 4;     // [\p{Ll}\p{Lm}\p{Lo}\p{M}]
    public const byte Number = 8;        // \p{N}
    public const byte Space = 16;        // \s (Unicode White_Space)
    public const byte LineBreak = 32;    // [\r\n]

    private static readonly byte[] Bmp = BuildBmp();

    /// <summary>Class of the code point at <paramref name="index"/>; a lone surrogate counts as U+FFFD (a symbol).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int At(ReadOnlySpan<char> text, int index, out int width)
    {
        var c = text[index];
        if (!char.IsSurrogate(c))
        {
            width = 1;
            return Bmp[c];
        }

        return Supplementary(text, index, out width);
    }

    private static int Supplementary(ReadOnlySpan<char> text, int index, out int width)
    {
        var c = text[index];
        if (char.IsHighSurrogate(c) && index + 1 < text.Length && char.IsLowSurrogate(text[index + 1]))
        {
            width = 2;
            return Of(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, text[index + 1])));
        }

        // tiktoken's JavaScript binding receives text as UTF-8, where a lone surrogate has become U+FFFD (So).
        width = 1;
        return 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static byte[] BuildBmp()
    {
        var table = new byte[65536];
        for (var c = 0; c < table.Length; c++)
        {
            table[c] = (byte)(Of(CharUnicodeInfo.GetUnicodeCategory((char)c)) | (IsWhiteSpace(c) ? Space : 0));
        }

        table['\r'] |= LineBreak;
        table['\n'] |= LineBreak;
        return table;
    }

    private static byte Of(UnicodeCategory category) => category switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.TitlecaseLetter => Letter | UpperLike,
        UnicodeCategory.LowercaseLetter => Letter | LowerLike,
        UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Letter | UpperLike | LowerLike,
        UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => UpperLike | LowerLike,
        UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Number,
        _ => 0,
    };

    // The Unicode White_Space property, which is what \s means in Rust's regex crate.
    private static bool IsWhiteSpace(int c) =>
        c is (>= 0x09 and <= 0x0D) or 0x20 or 0x85 or 0xA0 or 0x1680 or (>= 0x2000 and <= 0x200A)
            or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000;
}
