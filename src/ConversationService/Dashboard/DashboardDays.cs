namespace ConversationService.Dashboard;

public static class DashboardDays
{
    /// <summary>Every UTC day that [from, to) touches, oldest first: a chart has a point for days without data too.</summary>
    public static IEnumerable<DateOnly> Between(DateTimeOffset from, DateTimeOffset to)
    {
        var last = DateOnly.FromDateTime((to - TimeSpan.FromTicks(1)).UtcDateTime);
        for (var day = DateOnly.FromDateTime(from.UtcDateTime); day <= last; day = day.AddDays(1))
        {
            yield return day;
        }
    }
}
