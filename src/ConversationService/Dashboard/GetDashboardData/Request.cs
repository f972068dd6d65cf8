using ConversationService.Usage;

namespace ConversationService.Dashboard.GetDashboardData;

/// <summary>from and to default to the 30 days before now; the page asks for whole UTC days.</summary>
public sealed class Request : TimeRangeRequest
{
    /// <summary>A point a day on each chart: a quarter reads well on a laptop screen.</summary>
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(92);
}
