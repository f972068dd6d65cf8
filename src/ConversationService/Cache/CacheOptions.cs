namespace ConversationService.Cache;

/// <summary>The semantic response cache's settings (section <c>Cache</c>).</summary>
public sealed class CacheOptions
{
    /// <summary>Entries a tenant keeps; the oldest go when a new one would exceed it.</summary>
    public int MaxEntriesPerTenant { get; set; } = 10_000;

    /// <summary>The minimum cosine when a lookup names none (README, "Semantic response cache").</summary>
    public double DefaultMinSimilarity { get; set; } = CacheDecisions.DefaultThreshold;

    /// <summary>How long an entry serves when a put names no ttl.</summary>
    public TimeSpan DefaultTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often each replica deletes the expired entries of every tenant.</summary>
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromMinutes(5);

    public static readonly TimeSpan MinTtl = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MaxTtl = TimeSpan.FromDays(30);

    public IEnumerable<string> Problems()
    {
        if (MaxEntriesPerTenant is < 1 or > 1_000_000)
        {
            yield return "Cache:MaxEntriesPerTenant must be between 1 and 1,000,000.";
        }
        if (DefaultMinSimilarity is < 0 or > 1)
        {
            yield return "Cache:DefaultMinSimilarity must be between 0 and 1.";
        }
        if (DefaultTtl < MinTtl || DefaultTtl > MaxTtl)
        {
            yield return "Cache:DefaultTtl must be between 00:01:00 and 30.00:00:00.";
        }
        if (PurgeInterval <= TimeSpan.Zero)
        {
            yield return "Cache:PurgeInterval must be positive.";
        }
    }
}
