using PuppeteerSharp;

namespace ConversationService.Tests.Infrastructure;

/// <summary>
/// Debian's chromium (installed by scripts/deps.sh), driven over the DevTools protocol by PuppeteerSharp. It is started
/// from its path and never downloaded; <c>CHROMIUM_PATH</c> names another binary.
/// </summary>
public static class Chromium
{
    public static string Path => Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium";

    public static Task<IBrowser> LaunchAsync()
    {
        Assert.True(File.Exists(Path), $"No chromium at {Path}: scripts/deps.sh installs Debian's package.");
        return Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = Path,
            Headless = true,
            // As root (the build machines) chromium needs --no-sandbox; /dev/shm may be small in containers.
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--disable-extensions"],
        });
    }
}
