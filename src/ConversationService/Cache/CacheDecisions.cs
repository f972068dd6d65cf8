using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace ConversationService.Cache;

/// <summary>A chat message of a cache request.</summary>
public sealed record CacheMessage(string? Role, string? Content);

/// <summary>
/// A question as the cache compares it: the normalized text (what is embedded and keyed), and what an embedding cannot
/// tell apart: its <see cref="Specifics"/> (numbers, amounts, currencies, days, months, times of day, comparisons; sorted,
/// with repeats), whether it is <see cref="Negated"/> (an odd number of negations) and its <see cref="Names"/> (words
/// written with a capital inside a sentence or inside the word: product and entity names, in order), and its <see cref="Content"/>
/// words in order (neither function words nor specifics; crudely stemmed, a few synonyms folded).
/// </summary>
public sealed record CacheQuestion(
    string Text, IReadOnlyList<string> Specifics, bool Negated, IReadOnlyList<string> Names, IReadOnlyList<string> Content);

/// <summary>The pure decisions of the semantic response cache: normalization, fingerprint, key and hit.</summary>
public static partial class CacheDecisions
{
    /// <summary>The default minimum cosine, chosen from the measured set (README, "Semantic response cache").</summary>
    public const double DefaultThreshold = 0.90;

    /// <summary>
    /// The final user message: <paramref name="prompt"/>, else the content of the last message whose role is user;
    /// null when there is none.
    /// </summary>
    public static string? FinalUserMessage(IReadOnlyList<CacheMessage>? messages, string? prompt) =>
        prompt ?? messages?.LastOrDefault(m => m.Role == "user")?.Content;

    /// <summary>Unicode NFKC, lower case, one kind of apostrophe, single spaces, no trailing punctuation.</summary>
    public static string Normalize(string text)
    {
        var folded = text.Normalize(NormalizationForm.FormKC).ToLowerInvariant().Replace('\u2019', '\'').Replace('\u2018', '\'');
        return Whitespace().Replace(folded, " ").Trim().TrimEnd('?', '!', '.', ' ', '…');
    }

    public static CacheQuestion Parse(string finalUserMessage)
    {
        var text = Normalize(finalUserMessage);
        var specifics = new List<string>();
        var content = new List<string>();
        var negations = 0;
        foreach (Match token in Token().Matches(text))
        {
            var word = token.Value;
            if (word[0] is '$' or '€' or '£' or '¥')
            {
                specifics.Add(Currencies[word[..1]]);
                word = word[1..];
            }
            word = Synonyms.GetValueOrDefault(word, word);
            if (char.IsAsciiDigit(word[0]))
            {
                specifics.Add(Number(word));
            }
            else if (word.EndsWith("n't", StringComparison.Ordinal) || Negations.Contains(word))
            {
                negations++;
            }
            else if (NumberWords.TryGetValue(word, out var number))
            {
                specifics.Add(number);
            }
            else if (Currencies.TryGetValue(word, out var currency) || Specific.Contains(word))
            {
                specifics.Add(currency ?? word);
            }
            else if (!FunctionWords.Contains(word))
            {
                content.Add(ContentWord(word));
            }
        }
        specifics.Sort(StringComparer.Ordinal);
        return new(text, specifics, negations % 2 == 1, Names(finalUserMessage), content);
    }

    /// <summary>
    /// A hit: the cosine reaches the threshold and nothing an embedding blurs differs: the same specifics, the same
    /// polarity, the same names in the same order ("from Standard to Premium"), and no content word swapped for
    /// another ("log in" and "log out", "import" and "export"; one side may only add words, such as "in the price"). A false hit is worse than a miss.
    /// </summary>
    public static bool IsHit(double similarity, double threshold, CacheQuestion asked, CacheQuestion stored) =>
        similarity >= threshold && SameGuards(asked, stored);

    public static bool SameGuards(CacheQuestion a, CacheQuestion b) =>
        a.Negated == b.Negated && a.Specifics.SequenceEqual(b.Specifics)
        && a.Names.Distinct().SequenceEqual(b.Names.Distinct())
        && !(a.Content.Except(b.Content).Any() && b.Content.Except(a.Content).Any());

    // A crude stem: "charged" and "charge", "accepted" and "accept", "company's" and "company" are one word.
    private static string ContentWord(string word)
    {
        var stem = word.EndsWith("'s", StringComparison.Ordinal) ? word[..^2] : word;
        stem = Synonyms.GetValueOrDefault(stem, stem);
        foreach (var suffix in (string[])["ing", "ed", "es", "s", "e"])
        {
            if (stem.Length > suffix.Length + 2 && stem.EndsWith(suffix, StringComparison.Ordinal) && !stem.EndsWith("ss", StringComparison.Ordinal))
            {
                return stem[..^suffix.Length];
            }
        }
        return stem;
    }

    /// <summary>
    /// What else makes answers differ: the system messages and, with <paramref name="wholeConversation"/>, every
    /// message before the final user message (roles and contents). Hex of SHA-256, 32 characters.
    /// </summary>
    public static string Fingerprint(IReadOnlyList<CacheMessage>? messages, bool wholeConversation)
    {
        var context = new StringBuilder(wholeConversation ? "conversation" : "system");
        var earlier = messages is null ? [] : messages.Take(LastUserIndex(messages));
        foreach (var message in earlier.Where(m => wholeConversation || m.Role == "system"))
        {
            context.Append('\0').Append(message.Role).Append('\0').Append(message.Content);
        }
        return Hash(context.ToString());
    }

    /// <summary>The entry key: a stable hash of model, fingerprint and normalized final user message, never of the tenant.</summary>
    public static string Key(string model, string fingerprint, string normalizedText) =>
        Hash($"{model}\0{fingerprint}\0{normalizedText}");

    public static bool IsKey(string? key) => key is { Length: 32 } && key.All(char.IsAsciiHexDigitLower);

    private static int LastUserIndex(IReadOnlyList<CacheMessage> messages)
    {
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            if (messages[i].Role == "user")
            {
                return i;
            }
        }
        return messages.Count;
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];

    // "1,000.00" and "1000" are one amount; "4.5" stays apart from "45".
    private static string Number(string digits)
    {
        var plain = digits.Replace(",", "", StringComparison.Ordinal);
        return decimal.TryParse(plain, NumberStyles.Number, CultureInfo.InvariantCulture, out var value)
            ? value.ToString("0.############", CultureInfo.InvariantCulture)
            : plain;
    }

    private static List<string> Names(string raw)
    {
        var names = new List<string>();
        if (!raw.Any(char.IsLower))
        {
            return names; // all capitals: no word stands out
        }
        foreach (Match token in NameToken().Matches(raw))
        {
            var word = token.Value;
            var startsSentence = raw[..token.Index].TrimEnd() is var before && (before.Length == 0 || before[^1] is '.' or '?' or '!' or ':' or '"' or '\n');
            var inner = word.Skip(1).Any(c => char.IsUpper(c) || char.IsDigit(c));
            if (word.Length > 1 && (inner || (char.IsUpper(word[0]) && !startsSentence)))
            {
                names.Add(word.ToLowerInvariant());
            }
        }
        return names;
    }

    private static readonly Dictionary<string, string> Currencies = new(StringComparer.Ordinal)
    {
        ["$"] = "usd", ["dollar"] = "usd", ["dollars"] = "usd", ["usd"] = "usd", ["€"] = "eur", ["euro"] = "eur",
        ["euros"] = "eur", ["eur"] = "eur", ["£"] = "gbp", ["pound"] = "gbp", ["pounds"] = "gbp", ["gbp"] = "gbp",
        ["¥"] = "jpy", ["yen"] = "jpy",
    };

    private static readonly HashSet<string> Negations = new(StringComparer.Ordinal)
    {
        "not", "no", "never", "cannot", "cant", "dont", "doesnt", "didnt", "wont", "isnt", "without", "unable", "none",
        "nothing", "nobody", "neither", "nor",
    };

    private static readonly Dictionary<string, string> NumberWords = new(StringComparer.Ordinal)
    {
        ["zero"] = "0", ["one"] = "1", ["single"] = "1", ["two"] = "2", ["both"] = "2", ["pair"] = "2", ["three"] = "3",
        ["four"] = "4", ["five"] = "5", ["six"] = "6", ["seven"] = "7", ["eight"] = "8", ["nine"] = "9", ["ten"] = "10",
        ["eleven"] = "11", ["twelve"] = "12", ["dozen"] = "12", ["fifteen"] = "15", ["twenty"] = "20", ["thirty"] = "30",
        ["forty"] = "40", ["fifty"] = "50", ["hundred"] = "100", ["thousand"] = "1000", ["million"] = "1000000",
        ["first"] = "1st", ["second"] = "2nd", ["third"] = "3rd", ["half"] = "0.5", ["twice"] = "2x", ["once"] = "1x",
    };

    // Words that do not change what is asked.
    private static readonly HashSet<string> FunctionWords = new(StringComparer.Ordinal)
    {
        "a", "an", "the", "i", "me", "my", "mine", "you", "your", "we", "our", "us", "it", "its", "it's", "is", "are", "am",
        "was", "were", "be", "been", "do", "does", "did", "can", "could", "would", "will", "should", "shall", "may", "might",
        "must", "how", "what", "what's", "which", "where", "where's", "when", "why", "who", "there", "this", "that",
        "these", "those", "to", "of", "for", "with", "at", "by", "from", "and", "or", "about", "please", "want", "like",
        "way", "possible", "i'm", "i've", "get", "got", "have", "has", "had", "any", "some", "usually", "also", "just",
        "then", "so", "if", "able", "know", "tell", "explain", "help", "need", "there's", "here", "hi", "hello", "thanks",
    };

    // Words of one meaning in support questions, folded to one (after the plural).
    private static readonly Dictionary<string, string> Synonyms = new(StringComparer.Ordinal)
    {
        ["delivery"] = "shipping", ["deliver"] = "ship", ["reserve"] = "book", ["reservation"] = "booking",
        ["recover"] = "restore", ["reach"] = "contact", ["business"] = "opening", ["yearly"] = "annually",
        ["receive"] = "get", ["purchase"] = "buy", ["modify"] = "change", ["update"] = "change", ["allowed"] = "allow",
    };

    // Words whose difference changes the answer while the sentence stays alike.
    private static readonly HashSet<string> Specific = new(StringComparer.Ordinal)
    {
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "weekend", "weekday", "weekdays",
        "january", "february", "march", "april", "june", "july", "august", "september", "october", "november",
        "december", "today", "tomorrow", "yesterday", "tonight", "morning", "afternoon", "evening", "night", "noon",
        "midnight", "am", "pm", "day", "days", "week", "weeks", "month", "months", "year", "years", "next", "last",
        "previous", "before", "after", "more", "less", "fewer", "above", "below", "minimum", "maximum", "early", "late", "annual", "annually", "monthly", "weekly", "daily",
        "yearly", "domestic", "international", "%", "percent",
    };

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"[$€£¥]?\d[\d,]*(?:\.\d+)?|%|[\p{L}\p{N}]+(?:'[\p{L}]+)?")]
    private static partial Regex Token();

    [GeneratedRegex(@"\p{L}[\p{L}\p{N}]*")]
    private static partial Regex NameToken();
}
