namespace ConversationService.Evaluation.Scoring;

public static class Metrics
{
    /// <summary>Share of <paramref name="evidence"/> ids found among <paramref name="contextIds"/>.</summary>
    public static double Recall(IReadOnlyCollection<string> evidence, IReadOnlySet<string> contextIds)
    {
        if (evidence.Count == 0)
        {
            throw new ArgumentException("A question without evidence has no recall.", nameof(evidence));
        }
        return evidence.Count(contextIds.Contains) / (double)evidence.Count;
    }

    /// <summary>Percentile with linear interpolation between closest ranks (numpy's default); 0 for no values.</summary>
    public static double Percentile(IEnumerable<double> values, double percentile)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(percentile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percentile, 100);
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return 0;
        }
        var rank = percentile / 100 * (sorted.Length - 1);
        var lower = (int)Math.Floor(rank);
        var upper = (int)Math.Ceiling(rank);
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - lower);
    }

    public static double Mean(IEnumerable<double> values)
    {
        var list = values as IReadOnlyCollection<double> ?? values.ToList();
        return list.Count == 0 ? 0 : list.Average();
    }
}
