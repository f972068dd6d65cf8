namespace ConversationService.Relevance;

/// <summary>
/// The word terms that lexical scoring and the offline embedder share: lower-cased runs of letters and digits,
/// stop words dropped, and a light English stemmer so "paintings", "painting" and "painted" meet.
/// </summary>
public static class Terms
{
    private const int MaxTermLength = 40;

    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been",
        "before", "being", "but", "by", "can", "could", "did", "do", "does", "doing", "for", "from", "had", "has",
        "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it",
        "its", "just", "me", "my", "of", "on", "or", "our", "ours", "she", "so", "than", "that", "the", "their",
        "them", "then", "there", "these", "they", "this", "those", "to", "too", "us", "very", "was", "we", "were",
        "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
        "yours", "s", "t", "re", "ve", "ll", "d", "m", "oh", "yeah", "yes", "wow", "really", "hey", "hi",
    };

    /// <summary>Adds the terms of <paramref name="text"/> to <paramref name="into"/>, in order of appearance.</summary>
    public static void Extract(ReadOnlySpan<char> text, List<string> into)
    {
        Span<char> buffer = stackalloc char[MaxTermLength];
        var length = 0;
        var overflow = false;
        for (var i = 0; i <= text.Length; i++)
        {
            var c = i < text.Length ? text[i] : ' ';
            if (char.IsLetterOrDigit(c))
            {
                if (length < MaxTermLength)
                {
                    buffer[length++] = char.ToLowerInvariant(c);
                }
                else
                {
                    overflow = true;
                }
                continue;
            }
            if (length > 0 && !overflow)
            {
                var term = Stem(buffer[..length]);
                if (term.Length > 0 && !StopWords.Contains(term))
                {
                    into.Add(term);
                }
            }
            length = 0;
            overflow = false;
        }
    }

    public static List<string> Extract(string text)
    {
        var terms = new List<string>();
        Extract(text.AsSpan(), terms);
        return terms;
    }

    /// <summary>A few suffix rules (plural, -ing, -ed, -ly): enough to join common inflections without a dictionary.</summary>
    public static string Stem(ReadOnlySpan<char> word)
    {
        if (word.Length <= 3 || char.IsDigit(word[0]))
        {
            return new string(word);
        }
        if (word.EndsWith("ies") && word.Length > 4)
        {
            return string.Concat(word[..^3], "y");
        }
        if (word.EndsWith("sses"))
        {
            return new string(word[..^2]);
        }
        if (word.EndsWith("ings") && word.Length > 6)
        {
            return UndoubleConsonant(word[..^4]);
        }
        if (word.EndsWith("ing") && word.Length > 5)
        {
            return UndoubleConsonant(word[..^3]);
        }
        if (word.EndsWith("ed") && word.Length > 4)
        {
            return UndoubleConsonant(word[..^2]);
        }
        if (word.EndsWith("ly") && word.Length > 5)
        {
            return new string(word[..^2]);
        }
        if (word[^1] == 's' && word[^2] is not ('s' or 'u' or 'i'))
        {
            return new string(word[..^1]);
        }
        return new string(word);
    }

    private static string UndoubleConsonant(ReadOnlySpan<char> stem) =>
        stem.Length > 2 && stem[^1] == stem[^2] && stem[^1] is not ('l' or 's' or 'z' or 'e')
            ? new string(stem[..^1])
            : new string(stem);
}
