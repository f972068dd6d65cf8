namespace ConversationService.Tests.Infrastructure;

/// <summary>The service's own entry point, started as a deployment starts it: settings become command-line arguments.</summary>
public static class ServiceEntryPoint
{
    /// <summary>
    /// Asserts that the service refuses to start with these settings (environment <c>Testing</c> unless they name
    /// one) and that the error names <paramref name="setting"/>. WebApplicationFactory can lose such an error: when
    /// the app's thread fails and disposes the host before the factory starts it, the factory throws
    /// ObjectDisposedException instead.
    /// </summary>
    public static void AssertRefusesToStart(IReadOnlyDictionary<string, string?> settings, string setting)
    {
        string[] args =
        [
            .. settings.Where(s => s.Value is not null).Select(s => $"--{s.Key}={s.Value}"),
            .. settings.ContainsKey("environment") ? Array.Empty<string>() : ["--environment=Testing"],
            "--urls=http://127.0.0.1:0",
            // The refusal is asserted from the exception; its log ("Hosting failed to start", a bus that never
            // started) is expected and stays off the test log.
            .. ExpectedLogs.OffTheConsole("Default").Select(s => $"--{s.Key}={s.Value}"),
        ];
        Exception? error = null;
        var run = new Thread(() =>
        {
            try
            {
                typeof(Program).Assembly.EntryPoint!.Invoke(null, [args]);
            }
            catch (Exception e)
            {
                error = e;
            }
        }) { IsBackground = true };
        // As in a process of its own: nothing ambient flows in from the test, such as MassTransit's log context of a
        // fixture's host, through which the refused host would log its bus that never started.
        using (ExecutionContext.SuppressFlow())
        {
            run.Start();
        }

        Assert.True(run.Join(TimeSpan.FromMinutes(1)), $"The service started although {setting} is invalid.");
        Assert.NotNull(error);
        Assert.True(
            error.ToString().Contains(setting, StringComparison.Ordinal),
            $"The start-up error does not name '{setting}':{Environment.NewLine}{error}");
    }
}
