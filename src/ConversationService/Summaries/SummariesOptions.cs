namespace ConversationService.Summaries;

/// <summary>Section <c>Summaries</c>: when a summary is due and how long it may be.</summary>
public sealed class SummariesOptions
{
    /// <summary>The newest turns worth this many tokens stay verbatim and are never summarized.</summary>
    public int RecentWindowTokens { get; set; } = 2_000;

    /// <summary>A summary is requested once turns older than the recent window, not yet covered, exceed this.</summary>
    public int ThresholdTokens { get; set; } = 1_500;

    /// <summary>Output cap of one summary (also the extractive summarizer's length).</summary>
    public int MaxSummaryTokens { get; set; } = 200;

    /// <summary>
    /// Turns one summary call may read. After a long outage the backlog is folded in several calls of this size,
    /// so a prompt never outgrows the cheap model's context window.
    /// </summary>
    public int MaxInputTokens { get; set; } = 8_000;

    /// <summary>
    /// How often provisional summaries (extractive stand-ins written while every LLM tier failed) are retried; zero
    /// turns the retry off.
    /// </summary>
    public TimeSpan ProvisionalRetryInterval { get; set; } = TimeSpan.FromMinutes(5);

    public IEnumerable<string> Problems()
    {
        if (RecentWindowTokens is < 0 or > 1_000_000)
        {
            yield return "Summaries:RecentWindowTokens must be between 0 and 1000000.";
        }
        if (ThresholdTokens is < 1 or > 1_000_000)
        {
            yield return "Summaries:ThresholdTokens must be between 1 and 1000000.";
        }
        if (MaxInputTokens is < 64 or > 1_000_000)
        {
            yield return "Summaries:MaxInputTokens must be between 64 and 1000000.";
        }
        if (ProvisionalRetryInterval < TimeSpan.Zero || ProvisionalRetryInterval > TimeSpan.FromDays(1))
        {
            yield return "Summaries:ProvisionalRetryInterval must be between 00:00:00 and 1.00:00:00.";
        }
        if (MaxSummaryTokens is < 16 or > 16_000)
        {
            yield return "Summaries:MaxSummaryTokens must be between 16 and 16000.";
        }
    }
}
