using ConversationService.Tokenizers;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Knowledge;

/// <summary>A chunk as a range of the document text, with its exact token count.</summary>
public sealed record DocumentChunk(int Start, int Length, int Tokens);

/// <summary>
/// Splits a document into retrieval chunks of about <c>min</c>-<c>max</c> tokens at sentence boundaries, so a chunk
/// is a run of whole sentences that a context can hold without cutting one in half. A chunk is closed once it
/// reaches the middle of the range, or when the next sentence would take it past the maximum; a single sentence
/// longer than the maximum is cut at token boundaries; a short tail joins the chunk before it when both fit.
/// Pure: the same text always gives the same chunks.
/// </summary>
public static class Chunker
{
    public const int MinTokens = 200;
    public const int MaxTokens = 400;

    public static IReadOnlyList<DocumentChunk> Split(
        string text, Tokenizer tokenizer, int minTokens = MinTokens, int maxTokens = MaxTokens)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 8);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minTokens, maxTokens);
        var target = (minTokens + maxTokens) / 2;
        var ranges = new List<(int Start, int End)>();
        var (start, tokens) = (-1, 0);
        foreach (var (sentenceStart, sentenceEnd) in Sentences(text))
        {
            var sentenceTokens = tokenizer.CountTokens(text.AsSpan(sentenceStart, sentenceEnd - sentenceStart));
            if (start >= 0 && (tokens >= target || tokens + sentenceTokens > maxTokens))
            {
                ranges.Add((start, sentenceStart));
                (start, tokens) = (-1, 0);
            }
            if (sentenceTokens > maxTokens)
            {
                ranges.AddRange(CutAtTokens(text, sentenceStart, sentenceEnd, tokenizer, maxTokens));
                continue;
            }
            if (start < 0)
            {
                start = sentenceStart;
            }
            tokens += sentenceTokens;
        }
        if (start >= 0)
        {
            ranges.Add((start, text.Length));
        }
        var chunks = ranges.Select(r => Trimmed(text, r.Start, r.End, tokenizer)).Where(c => c.Length > 0).ToList();
        if (chunks.Count >= 2 && chunks[^1].Tokens < minTokens)
        {
            var merged = Trimmed(text, chunks[^2].Start, chunks[^1].Start + chunks[^1].Length, tokenizer);
            if (merged.Tokens <= maxTokens)
            {
                chunks.RemoveRange(chunks.Count - 2, 2);
                chunks.Add(merged);
            }
        }
        return chunks;
    }

    /// <summary>
    /// Sentence ranges covering the text: each ends after its terminal punctuation (and closing quotes or brackets)
    /// or at a line break; the whitespace before a sentence belongs to it, as a tokenizer attaches it to the next word.
    /// </summary>
    public static IEnumerable<(int Start, int End)> Sentences(string text)
    {
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var end = -1;
            if (text[i] == '\n')
            {
                end = i + 1;
            }
            else if (text[i] is '.' or '!' or '?' or '…' or '。' or '！' or '？')
            {
                var j = i + 1;
                while (j < text.Length && text[j] is '"' or '\'' or ')' or ']' or '”' or '’' or '.' or '!' or '?')
                {
                    j++;
                }
                if (j == text.Length || char.IsWhiteSpace(text[j]) || text[i] is '。' or '！' or '？')
                {
                    end = j;
                }
                i = j - 1;
            }
            if (end > start && !text.AsSpan(start, end - start).IsWhiteSpace())
            {
                yield return (start, end);
                start = end;
            }
        }
        if (start < text.Length && !text.AsSpan(start).IsWhiteSpace())
        {
            yield return (start, text.Length);
        }
    }

    private static IEnumerable<(int, int)> CutAtTokens(string text, int start, int end, Tokenizer tokenizer, int maxTokens)
    {
        while (start < end)
        {
            var rest = text[start..end];
            var cut = tokenizer.GetIndexByTokenCount(rest, maxTokens, out _, out _);
            // One character is never more than a few tokens, so a cut of 0 means no boundary fits; take a character.
            cut = cut == 0 ? char.IsHighSurrogate(rest[0]) && rest.Length > 1 ? 2 : 1 : cut;
            yield return (start, start + cut);
            start += cut;
        }
    }

    private static DocumentChunk Trimmed(string text, int start, int end, Tokenizer tokenizer)
    {
        while (start < end && char.IsWhiteSpace(text[start]))
        {
            start++;
        }
        while (end > start && char.IsWhiteSpace(text[end - 1]))
        {
            end--;
        }
        return new DocumentChunk(start, end - start, tokenizer.CountTokens(text.AsSpan(start, end - start)));
    }
}
