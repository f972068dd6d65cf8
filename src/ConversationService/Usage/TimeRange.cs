using FluentValidation;

namespace ConversationService.Usage;

/// <summary>A query range [from, to); from and to default to the <see cref="DefaultRange"/> before now.</summary>
public abstract class TimeRangeRequest
{
    public static readonly TimeSpan DefaultRange = TimeSpan.FromDays(30);

    public DateTimeOffset? From { get; set; }
    public DateTimeOffset? To { get; set; }

    public (DateTimeOffset Start, DateTimeOffset End) Range(DateTimeOffset now)
    {
        var end = To ?? now;
        // Near the start of the calendar the default range would begin before it.
        return (From ?? (end - DateTimeOffset.MinValue > DefaultRange ? end - DefaultRange : DateTimeOffset.MinValue), end);
    }
}

public static class TimeRangeRules
{
    /// <summary>from before to and at most <paramref name="max"/> apart; the failure names the field the caller set.</summary>
    public static void WithinRange<T>(this IRuleBuilderInitial<T, T> rule, Func<DateTimeOffset> now, TimeSpan max)
        where T : TimeRangeRequest =>
        rule.Custom((request, context) =>
        {
            var (start, end) = request.Range(now());
            if (start >= end || end - start > max)
            {
                context.AddFailure(request.From is null ? "to" : "from", $"from must be before to, at most {max.TotalDays:0} days apart.");
            }
        });
}
