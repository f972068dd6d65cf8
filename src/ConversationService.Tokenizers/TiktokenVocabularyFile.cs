using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Tokenizers;

/// <summary>
/// A tiktoken-format BPE vocabulary file (one <c>base64-token rank</c> per line), loaded with Microsoft.ML.Tokenizers'
/// TiktokenTokenizer: budgets for a model that is not OpenAI's, such as a self-hosted one, stay exact.
/// </summary>
/// <remarks>
/// The pattern is <c>o200k_base</c> or <c>cl100k_base</c> (this library's exact splitter) or a .NET regular
/// expression. No special tokens are registered, so special-token strings in text count as text, as with the built-in
/// encodings.
/// </remarks>
public static class TiktokenVocabularyFile
{
    /// <summary>Longest a configured pattern may run on one text before it is abandoned.</summary>
    public static readonly TimeSpan PatternTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Checks the file and the pattern; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static Tokenizer Load(string path, string pattern)
    {
        var preTokenizer = CreatePreTokenizer(pattern);
        Check(path);
        return TiktokenTokenizer.Create(path, preTokenizer, normalizer: null, specialTokens: null);
    }

    /// <summary>The pre-tokenizer a pattern names; throws <see cref="FormatException"/> for an invalid regex.</summary>
    public static PreTokenizer CreatePreTokenizer(string pattern)
    {
        if (TiktokenPreTokenizer.TryGet(pattern, out var known))
        {
            return known;
        }

        try
        {
            return new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant, PatternTimeout), null);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"The pattern is neither {string.Join(" nor ", TiktokenPreTokenizer.Encodings)} nor a valid regular expression: {e.Message}", e);
        }
    }

    /// <summary>
    /// Every line must be a base64 token, one space and a rank, with no blank lines (ML.Tokenizers 3.0.0 never finishes
    /// reading a file with a blank line after the first token); every single byte must be a token, or some text could
    /// not be encoded at all.
    /// </summary>
    public static void Check(string path)
    {
        var singleBytes = new bool[256];
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var token = new byte[space < 0 ? 0 : space];
            if (space <= 0
                || !int.TryParse(line.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out _)
                || !Convert.TryFromBase64Chars(line.AsSpan(0, space), token, out var written)
                || written == 0)
            {
                throw new FormatException($"Line {lineNumber} of '{path}' is not '<base64 token> <rank>'.");
            }

            if (written == 1)
            {
                singleBytes[token[0]] = true;
            }
        }

        var missing = Array.IndexOf(singleBytes, false);
        if (missing >= 0)
        {
            throw new FormatException($"'{path}' has no token for the single byte 0x{missing:X2}; a byte-level BPE vocabulary needs all 256.");
        }
    }
}
