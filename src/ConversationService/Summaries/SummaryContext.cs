using ConversationService.Context;
using ConversationService.Tokenizers;

namespace ConversationService.Summaries;

/// <summary>Where the rolling summary goes into a context window: a pure choice over token counts.</summary>
public static class SummaryContext
{
    /// <summary>
    /// The whole history verbatim when it fits (lossless beats summarized); otherwise the summary stands in for the
    /// turns it covers and the newest turns after it fill the rest. Returns the summary text to render, if used.
    /// </summary>
    public static (ContextSelection? Selection, ContextTooSmall? TooSmall, string? Summary) Select(
        int available, int systemTokens, CurrentSummary? summary, IReadOnlyList<TurnCost> turns, TiktokenTokenizer tokenizer)
    {
        var (verbatim, tooSmall) = ContextAssembly.Select(available, systemTokens, null, turns, tokenizer);
        if (summary is null || verbatim is null || verbatim.TurnIndexes.Count == turns.Count)
        {
            return (verbatim, tooSmall, null);
        }
        var after = turns.Where(t => t.Index > summary.ThroughIndex).ToArray();
        var (withSummary, _) = ContextAssembly.Select(
            available, systemTokens, ContextAssembly.SummaryTokens(summary.Text, tokenizer), after, tokenizer);
        return withSummary is not null ? (withSummary, null, summary.Text) : (verbatim, null, null);
    }
}
