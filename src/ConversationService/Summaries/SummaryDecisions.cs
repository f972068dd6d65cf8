namespace ConversationService.Summaries;

/// <summary>What becomes of one line of a finished Batch API job.</summary>
public enum BatchAnswer
{
    /// <summary>A usable summary: stored.</summary>
    Store,

    /// <summary>Cut at the output cap: the direct path asks again for a shorter one.</summary>
    Direct,

    /// <summary>No usable answer (failed, expired, empty, refused): the next job tries again.</summary>
    Retry,
}

/// <summary>Pure decisions about summaries; I/O lives in the trigger, the consumer and the context endpoint.</summary>
public static class SummaryDecisions
{
    /// <summary>
    /// <paramref name="uncovered"/> are the turns after the last summarized (or already requested) index, oldest
    /// first. The newest <paramref name="recentWindowTokens"/> stay verbatim; when the older rest exceeds
    /// <paramref name="thresholdTokens"/>, returns the index to summarize through, otherwise null.
    /// </summary>
    public static int? SummarizeThrough(
        IReadOnlyList<(int Index, int Tokens)> uncovered, int recentWindowTokens, int thresholdTokens)
    {
        var recent = 0;
        var firstRecent = uncovered.Count;
        while (firstRecent > 0 && recent + uncovered[firstRecent - 1].Tokens <= recentWindowTokens)
        {
            firstRecent--;
            recent += uncovered[firstRecent].Tokens;
        }
        long older = 0;
        for (var i = 0; i < firstRecent; i++)
        {
            older += uncovered[i].Tokens;
        }
        return firstRecent > 0 && older > thresholdTokens ? uncovered[firstRecent - 1].Index : null;
    }

    /// <summary>How many of the oldest <paramref name="tokens"/> one call reads: as many as fit, at least one.</summary>
    public static int TakeWithin(IReadOnlyList<int> tokens, int maxInputTokens)
    {
        long used = 0;
        var count = 0;
        while (count < tokens.Count && (count == 0 || used + tokens[count] <= maxInputTokens))
        {
            used += tokens[count];
            count++;
        }
        return count;
    }

    /// <summary>
    /// Whether a due summary waits for a Batch API job: in batch mode with an LLM configured, unless the command asks
    /// for a direct call or the conversation's unsummarized backlog outgrew <see cref="BatchSummariesOptions.MaxBacklogTokens"/>.
    /// </summary>
    public static bool Batch(SummariesOptions options, bool llmEnabled, bool direct, int backlogTokens) =>
        options.Mode == SummaryMode.Batch && llmEnabled && !direct && backlogTokens <= options.Batch.MaxBacklogTokens;

    public static BatchAnswer OnBatchAnswer(LineResult result) => result switch
    {
        LineResult.Answered { Refused: false, Text.Length: > 0, FinishReason: "length" } => BatchAnswer.Direct,
        LineResult.Answered { Refused: false, Text.Length: > 0 } => BatchAnswer.Store,
        _ => BatchAnswer.Retry,
    };
}
