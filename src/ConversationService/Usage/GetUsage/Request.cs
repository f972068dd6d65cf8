namespace ConversationService.Usage.GetUsage;

/// <summary>from and to default to the 30 days before now; groupBy to model.</summary>
public sealed class Request
{
    public static readonly TimeSpan DefaultRange = TimeSpan.FromDays(30);
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(366);

    public DateTimeOffset? From { get; set; }
    public DateTimeOffset? To { get; set; }
    public string GroupBy { get; set; } = "model";

    public (DateTimeOffset Start, DateTimeOffset End) Range(DateTimeOffset now)
    {
        var end = To ?? now;
        // Near the start of the calendar the default range would begin before it.
        return (From ?? (end - DateTimeOffset.MinValue > DefaultRange ? end - DefaultRange : DateTimeOffset.MinValue), end);
    }
}
