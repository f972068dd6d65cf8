using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ConversationService.Tests.Infrastructure;

/// <summary>
/// Test hosts start once their bus has. By default MassTransit connects in the background, and a host disposed before
/// it is connected (a short-lived replica, a fixture whose tests were quick on a busy machine) warns "Failed to stop
/// bus ... (Not Started)" in the test log; a test also begins with its host's queues consuming.
/// </summary>
public static class BusStart
{
    /// <summary>With <paramref name="wait"/> false, the start does not wait: for a broker that is unreachable on purpose.</summary>
    public static IWebHostBuilder WaitForBus(this IWebHostBuilder web, bool wait = true) =>
        web.ConfigureServices(services => services.Configure<MassTransitHostOptions>(options =>
        {
            options.WaitUntilStarted = wait;
            options.StartTimeout = TimeSpan.FromMinutes(1);
        }));
}
