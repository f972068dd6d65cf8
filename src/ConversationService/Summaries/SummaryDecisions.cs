namespace ConversationService.Summaries;

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
}
