using System.Diagnostics.Metrics;
using ConversationService.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ConversationService.Tests.Infrastructure;

public static class TestMeters
{
    /// <summary>A service meter of its own, for classes a test builds without a host.</summary>
    public static ServiceMeter Create() =>
        new(new Microsoft.Extensions.DependencyInjection.ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());
}
