using System.Globalization;
using System.Text;

namespace ConversationService.Tokenizers.Tests;

/// <summary>
/// Seeded random texts that mix what chat turns hold: words in several cases and scripts, contractions, digits,
/// whitespace runs, punctuation, code, URLs, JSON, emoji (with modifiers and joiners) and combining marks. No lone
/// surrogates, no special-token strings and no letters or digits outside the Basic Multilingual Plane: those are
/// the documented differences from Microsoft.ML.Tokenizers, tested on their own.
/// </summary>
internal static class GeneratedText
{
    private static readonly string[] Words =
    [
        "the", "conversation", "budget", "Token", "HELLO", "iPhone", "McDonald", "naïve", "café", "résumé", "straße",
        "don't", "we'll", "I'M", "they've", "it’s", "O'Reilly", "x", "a", "JSON", "camelCaseWord", "snake_case_word",
    ];

    private static readonly string[] Scripts =
    [
        "Привет мир", "Ελληνικά γράμματα", "שלום עולם", "مرحبا بالعالم", "नमस्ते दुनिया", "สวัสดีชาวโลก", "안녕하세요 세계",
        "你好，世界。", "こんにちは、世界！カタカナ", "Tiếng Việt có dấu", "ქართული", "Հայերեն", "ᚠᚢᚦᚨᚱᚲ", "Ⅻ ⅷ ½ ²³",
    ];

    private static readonly string[] Emoji =
    [
        "🦜", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "🏳️‍🌈", "❤️", "⭐", "🧑🏿‍💻", "😀😃😄", "☕️", "🫠", "🪿",
    ];

    private static readonly string[] Code =
    [
        "if (x == 1) { return y; }", "def f(a):\n    return a ** 2\n", "SELECT * FROM t WHERE id = $1;",
        "<div class=\"x\">&nbsp;</div>", "for (var i = 0; i < n; i++) {\n\tsum += i;\n}", "a->b::c<T>()", "x ||= y && !z",
        "// comment\r\n/* block */", "```csharp\nvar x = 1;\n```", "https://example.com/path?q=1&r=two#frag",
        "{\"role\":\"user\",\"content\":\"hi\",\"n\":[1,2.5,-3e10]}", "C:\\Users\\me\\file.txt", "~/.config/app.yaml",
    ];

    private static readonly string[] Whitespace = [" ", "  ", "    ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00A0", "\u3000", "\u2003", "\v\f"];

    private static readonly string Symbols = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~§±×÷€£¥©®™°•…–—‘’“”«»¿¡";

    public static IEnumerable<string> Texts(int seed, int count)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            yield return Text(random);
        }
    }

    private static string Text(Random random)
    {
        var text = new StringBuilder();
        var fragments = random.Next(1, 40);
        for (var i = 0; i < fragments; i++)
        {
            text.Append(random.Next(11) switch
            {
                0 or 1 or 2 => Cased(Words[random.Next(Words.Length)], random),
                3 => Scripts[random.Next(Scripts.Length)],
                4 => Emoji[random.Next(Emoji.Length)],
                5 => Code[random.Next(Code.Length)],
                6 => Digits(random),
                7 => new string(Symbols[random.Next(Symbols.Length)], random.Next(1, 4)),
                8 => Combining(random),
                9 => RandomCodePoint(random),
                _ => string.Concat(Enumerable.Range(0, random.Next(1, 5)).Select(_ => Whitespace[random.Next(Whitespace.Length)])),
            });
            if (random.Next(3) > 0)
            {
                text.Append(' ');
            }
        }

        return text.ToString();
    }

    private static string Cased(string word, Random random) => random.Next(4) switch
    {
        0 => word.ToUpperInvariant(),
        1 => char.ToUpperInvariant(word[0]) + word[1..],
        _ => word,
    };

    private static string Digits(Random random) =>
        string.Concat(Enumerable.Range(0, random.Next(1, 12)).Select(_ => (char)('0' + random.Next(10))))
        + (random.Next(3) == 0 ? "." + random.Next(100) : "");

    private static string Combining(Random random) =>
        "e\u0301" + (random.Next(2) == 0 ? "a\u0308\u0323" : "n\u0303") + "\u0915\u094D\u0937";

    /// <summary>A scalar value (never a lone surrogate); outside the BMP only symbols, punctuation and the unassigned.</summary>
    private static string RandomCodePoint(Random random)
    {
        while (true)
        {
            var codePoint = random.Next(4) switch
            {
                0 => random.Next(0x20, 0x250),
                1 => random.Next(0x250, 0xD800),
                2 => random.Next(0xE000, 0xFFFE),
                _ => random.Next(0x10000, 0x2FFFF),
            };
            if (codePoint < 0x10000 || !IsLetterDigitOrMark(CharUnicodeInfo.GetUnicodeCategory(codePoint)))
            {
                return char.ConvertFromUtf32(codePoint);
            }
        }
    }

    private static bool IsLetterDigitOrMark(UnicodeCategory category) => category
        is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
        or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
        or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber
        or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark;
}
