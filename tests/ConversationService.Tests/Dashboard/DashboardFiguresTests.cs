using ConversationService.Dashboard;
using ConversationService.Usage;

namespace ConversationService.Tests.Dashboard;

public sealed class DashboardFiguresTests
{
    private static DateTimeOffset Utc(int day, int hour = 0, int second = 0) => new(2026, 1, day, hour, 0, second, TimeSpan.Zero);

    [Fact]
    public void Given_a_range_ending_at_midnight_When_its_days_are_listed_Then_the_day_after_is_not_one_of_them()
    {
        Assert.Equal([new(2026, 1, 1), new(2026, 1, 2)], DashboardDays.Between(Utc(1, 12), Utc(3)));
        Assert.Equal(3, DashboardDays.Between(Utc(1, 12), Utc(3, 0, 1)).Count());
        // Days are UTC days whatever the offset the caller sent: 23:00 at UTC-1 is midnight of the next UTC day.
        Assert.Equal([new DateOnly(2026, 1, 2)], DashboardDays.Between(new DateTimeOffset(2026, 1, 1, 23, 0, 0, TimeSpan.FromHours(-1)), Utc(2, 1)));
    }

    [Fact]
    public void Given_a_context_answers_sections_When_they_are_summed_by_kind_Then_each_kind_has_its_tokens()
    {
        var sections = SectionTokens.Of([("system", 10), ("summary", 20), ("recent", 30), ("recalled", 4), ("knowledge", 5), ("recent", 1)]);

        Assert.Equal(new SectionTokens(10, 20, 31, 4, 5, 0), sections);
        Assert.Equal([20L, 40, 62, 8, 10, 0], (sections + sections).ToArray());
    }
}
