namespace ConversationService.Usage.GetUsage;

/// <summary>from and to default to the 30 days before now; groupBy to model.</summary>
public sealed class Request : TimeRangeRequest
{
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(366);

    public string GroupBy { get; set; } = "model";
}
