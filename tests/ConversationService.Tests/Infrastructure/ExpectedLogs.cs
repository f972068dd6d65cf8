namespace ConversationService.Tests.Infrastructure;

/// <summary>
/// Settings that keep log categories a test provokes on purpose (an unreachable or stopped broker, a failing fake
/// LLM, a refused start) off the console, which is the test log: what is left there is what nobody expected, so a
/// real failure stands out. Only the console is filtered; a test's own <see cref="LogSink"/> still gets everything.
/// </summary>
public static class ExpectedLogs
{
    /// <summary>"Default" stands for every category.</summary>
    public static Dictionary<string, string?> OffTheConsole(params string[] categories) =>
        categories.ToDictionary(category => $"Logging:Console:LogLevel:{category}", _ => (string?)"None");

    /// <summary>The settings with <see cref="OffTheConsole"/> of <paramref name="categories"/> added.</summary>
    public static Dictionary<string, string?> With(IReadOnlyDictionary<string, string?> settings, params string[] categories)
    {
        var all = new Dictionary<string, string?>(settings);
        foreach (var (key, value) in OffTheConsole(categories))
        {
            all[key] = value;
        }
        return all;
    }
}
