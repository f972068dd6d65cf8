namespace ConversationService.Relevance;

/// <summary>
/// What an item costs: its own tokens plus, for an item of a <see cref="Group"/> (say, turns under one date
/// header), the group's shared cost, paid once by the first item taken from it.
/// </summary>
public readonly record struct PackCost(int Tokens, int Group = -1);

/// <summary>Greedy packing of candidates into a token capacity, costing each candidate only when it is reached.</summary>
public static class Packing
{
    /// <summary>After this many candidates in a row that did not fit, the rest are not costed: the capacity is spent.</summary>
    public const int GiveUpAfter = 24;

    /// <summary>
    /// Walks <paramref name="ordered"/> (best first) and takes each candidate whose cost fits what is left of
    /// <paramref name="capacity"/>; returns the taken candidates in the order taken. <paramref name="cost"/> runs
    /// lazily, so expensive costing (an excerpt, a token count) is paid only for candidates that are considered.
    /// </summary>
    public static List<int> Greedy(
        IEnumerable<int> ordered, Func<int, PackCost> cost, int capacity, IReadOnlyList<int>? groupTokens = null)
    {
        var opened = new HashSet<int>();
        var taken = new List<int>();
        var misses = 0;
        foreach (var candidate in ordered)
        {
            if (capacity <= 0 || misses >= GiveUpAfter)
            {
                break;
            }
            var (tokens, group) = cost(candidate);
            var total = tokens + (group >= 0 && groupTokens is not null && !opened.Contains(group) ? groupTokens[group] : 0);
            if (total > capacity)
            {
                misses++;
                continue;
            }
            misses = 0;
            capacity -= total;
            if (group >= 0)
            {
                opened.Add(group);
            }
            taken.Add(candidate);
        }
        return taken;
    }
}
