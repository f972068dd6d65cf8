namespace ConversationService.Summaries;

/// <summary>How summaries reach the LLM: one call per summary, or collected into OpenAI Batch API jobs at half the price.</summary>
public enum SummaryMode
{
    Direct,
    Batch,
}

/// <summary>Section <c>Summaries:Batch</c>: how long a summary may wait in the Batch API, and how jobs are formed.</summary>
public sealed class BatchSummariesOptions
{
    /// <summary>A summary still unanswered this long after it was first queued runs directly (the deadline).</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// A conversation whose turns older than the recent window and not yet summarized outgrow this runs its summary
    /// directly: its context would otherwise carry that backlog verbatim, or lose it, until the batch returns.
    /// </summary>
    public int MaxBacklogTokens { get; set; } = 4_000;

    /// <summary>How often waiting summaries are submitted as one job and submitted jobs are polled.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Summaries per job (OpenAI accepts up to 50,000).</summary>
    public int MaxRequests { get; set; } = 1_000;

    /// <summary>Jobs a summary may take part in (failed lines, expired or failed jobs) before it runs directly.</summary>
    public int MaxAttempts { get; set; } = 2;

    /// <summary>The Batch API's completion window.</summary>
    public string CompletionWindow { get; set; } = "24h";

    /// <summary>The share of the direct price a batch call costs (OpenAI: half).</summary>
    public decimal PriceFactor { get; set; } = 0.5m;

    public IEnumerable<string> Problems()
    {
        if (MaxWait < TimeSpan.FromSeconds(1) || MaxWait > TimeSpan.FromDays(2))
        {
            yield return "Summaries:Batch:MaxWait must be between 00:00:01 and 2.00:00:00.";
        }
        if (MaxBacklogTokens is < 1 or > 10_000_000)
        {
            yield return "Summaries:Batch:MaxBacklogTokens must be between 1 and 10000000.";
        }
        if (Interval < TimeSpan.FromMilliseconds(50) || Interval > TimeSpan.FromHours(1))
        {
            yield return "Summaries:Batch:Interval must be between 00:00:00.05 and 01:00:00.";
        }
        if (MaxRequests is < 1 or > 50_000)
        {
            yield return "Summaries:Batch:MaxRequests must be between 1 and 50000.";
        }
        if (MaxAttempts is < 1 or > 10)
        {
            yield return "Summaries:Batch:MaxAttempts must be between 1 and 10.";
        }
        if (CompletionWindow != "24h")
        {
            yield return "Summaries:Batch:CompletionWindow must be '24h' (the only window the Batch API offers).";
        }
        if (PriceFactor is < 0 or > 1)
        {
            yield return "Summaries:Batch:PriceFactor must be between 0 and 1.";
        }
    }
}

/// <summary>Section <c>Summaries</c>: when a summary is due and how long it may be.</summary>
public sealed class SummariesOptions
{
    /// <summary>Direct: each summary calls the LLM when due. Batch: summaries wait for a Batch API job (<see cref="Batch"/>).</summary>
    public SummaryMode Mode { get; set; } = SummaryMode.Direct;

    public BatchSummariesOptions Batch { get; set; } = new();

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
        foreach (var problem in Batch.Problems())
        {
            yield return problem;
        }
    }
}
