namespace ConversationService.Relevance;

/// <summary>
/// An item offered to the packer: its section, what it is worth and what it costs; items of one
/// <see cref="Group"/> (say, turns under one date header) share a cost paid once, by the first taken.
/// </summary>
public readonly record struct PackItem(int Section, float Value, int Tokens, int Group = -1);

/// <summary>Greedy knapsack by value per token under a total and per-section token caps.</summary>
public static class Packing
{
    /// <summary>
    /// Items in order of value / tokens^<paramref name="costExponent"/> (1 = pure value per token, 0 = value
    /// alone), each taken when it (plus its group's cost, if its group is new) fits both its section's cap and
    /// the total; returns the indexes taken, in the order taken.
    /// </summary>
    public static List<int> Greedy(
        IReadOnlyList<PackItem> items, IReadOnlyList<int> sectionCaps, int total, IReadOnlyList<int>? groupTokens = null,
        float costExponent = 1f)
    {
        var order = Enumerable.Range(0, items.Count)
            .Where(i => items[i].Value > 0 && items[i].Tokens > 0)
            .OrderByDescending(i => items[i].Value / MathF.Pow(items[i].Tokens, costExponent))
            .ThenBy(i => i)
            .ToList();
        var used = new int[sectionCaps.Count];
        var opened = new HashSet<int>();
        var taken = new List<int>();
        foreach (var i in order)
        {
            var item = items[i];
            var cost = item.Tokens + (item.Group >= 0 && groupTokens is not null && !opened.Contains(item.Group) ? groupTokens[item.Group] : 0);
            if (cost > total || used[item.Section] + cost > sectionCaps[item.Section])
            {
                continue;
            }
            total -= cost;
            used[item.Section] += cost;
            if (item.Group >= 0)
            {
                opened.Add(item.Group);
            }
            taken.Add(i);
        }
        return taken;
    }
}
