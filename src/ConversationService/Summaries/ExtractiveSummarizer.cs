using System.Text.RegularExpressions;
using ConversationService.Tokenizers;
using ConversationService.Contracts;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Summaries;

/// <summary>
/// The offline summarizer: no model, no cost, deterministic. It keeps whole sentences that carry the kind of
/// content an LLM summary is asked to keep (names, numbers and dates, decisions, open questions, recurring topics),
/// each attributed to its speaker, in conversation order, within the token cap. Lines of the previous summary
/// compete with the new sentences, so the summary stays rolling instead of growing.
/// </summary>
public sealed partial class ExtractiveSummarizer : ISummarizer
{
    public const string ModelName = "extractive";

    private static readonly HashSet<string> DecisionWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "decided", "decide", "agreed", "agree", "will", "plan", "planning", "must", "need", "deadline", "going",
        "booked", "bought", "moved", "started", "finished", "want", "promise", "schedule", "scheduled",
    };

    private static readonly HashSet<string> StopWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "the", "and", "that", "this", "with", "have", "from", "they", "what", "your", "about", "just", "there",
        "their", "would", "could", "should", "been", "were", "when", "which", "really", "also", "like", "some",
        "them", "then", "than", "into", "very", "much", "more", "know", "think", "thanks", "that's", "it's",
    };

    public Task<SummaryResult> SummarizeAsync(SummaryRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(new SummaryResult(
            Summarize(request.PreviousSummary, request.Turns, request.MaxTokens, request.Tokenizer),
            ModelName, new LlmUsage(0, 0, 0), 0m));

    public static string Summarize(
        string? previousSummary, IReadOnlyList<SummaryTurn> turns, int maxTokens, Tokenizer tokenizer)
    {
        var candidates = new List<Candidate>();
        foreach (var line in (previousSummary ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            candidates.Add(new Candidate(candidates.Count, line, Sentence(line), Carried: true));
        }
        foreach (var turn in turns)
        {
            var speaker = string.IsNullOrWhiteSpace(turn.Name) ? turn.Role : turn.Name;
            foreach (var sentence in Sentences(turn.Content))
            {
                candidates.Add(new Candidate(candidates.Count, $"{speaker}: {sentence}", sentence, Carried: false));
            }
        }

        var frequency = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var word in candidates.SelectMany(c => c.Words))
        {
            if (word.Text.Length > 3 && !StopWords.Contains(word.Text))
            {
                frequency[word.Lower] = frequency.GetValueOrDefault(word.Lower) + 1;
            }
        }

        var chosen = new List<Candidate>();
        var used = 0;
        // A single sentence may take at most a third of the cap, so one monologue cannot crowd out everything else.
        var perLine = Math.Max(8, maxTokens / 3);
        foreach (var candidate in candidates.OrderByDescending(c => Score(c, frequency)).ThenBy(c => c.Position))
        {
            var tokens = tokenizer.CountTokens(candidate.Line) + 1;
            if (tokens > perLine || used + tokens > maxTokens)
            {
                continue;
            }
            used += tokens;
            chosen.Add(candidate);
        }
        return string.Join('\n', chosen.OrderBy(c => c.Position).Select(c => c.Line));
    }

    private static double Score(Candidate candidate, Dictionary<string, int> frequency)
    {
        var words = candidate.Words;
        if (words.Count < 3)
        {
            return 0;
        }
        double score = 0;
        for (var i = 0; i < words.Count; i++)
        {
            var (word, lower) = words[i];
            if (i > 0 && char.IsUpper(word[0]))
            {
                score += 2; // a name or a place
            }
            if (word.Any(char.IsDigit))
            {
                score += 2; // a date, time, amount
            }
            if (DecisionWords.Contains(word))
            {
                score += 1.5;
            }
            if (frequency.TryGetValue(lower, out var count) && count > 1)
            {
                score += Math.Log(count);
            }
        }
        if (candidate.Sentence.EndsWith('?'))
        {
            score += 2; // an open question
        }
        // Density, not length, decides; what earlier summaries kept has already won once.
        return score / Math.Sqrt(words.Count) + (candidate.Carried ? 1 : 0);
    }

    private static IEnumerable<string> Sentences(string content) =>
        SentenceBreak().Split(content)
            .Select(s => Whitespace().Replace(s, " ").Trim())
            .Where(s => s.Length > 0);

    // Carried lines are "speaker: sentence"; the speaker is not part of what is scored.
    private static string Sentence(string line)
    {
        var colon = line.IndexOf(": ", StringComparison.Ordinal);
        return colon > 0 && colon < 64 ? line[(colon + 2)..] : line;
    }

    // Each word with its lower-case form, found once per candidate: counting and scoring both need them.
    private static List<(string Text, string Lower)> WordsOf(string sentence)
    {
        var words = new List<(string, string)>();
        foreach (var match in WordPattern().EnumerateMatches(sentence))
        {
            var word = sentence.Substring(match.Index, match.Length);
            words.Add((word, word.ToLowerInvariant()));
        }
        return words;
    }

    [GeneratedRegex(@"(?<=[.!?])\s+|\n+")]
    private static partial Regex SentenceBreak();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"[\p{L}\p{N}][\p{L}\p{N}'’-]*")]
    private static partial Regex WordPattern();

    private sealed record Candidate(int Position, string Line, string Sentence, bool Carried)
    {
        public List<(string Text, string Lower)> Words { get; } = WordsOf(Sentence);
    }
}
