namespace ConversationService.Operations;

public static class OperationsModule
{
    /// <summary>The background work not done yet (summary and subscription lag, parked events), per tenant and overall, and its gauges.</summary>
    public static WebApplicationBuilder AddOperations(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<OperationsStatus>();
        builder.Services.AddSingleton<OperationsMetrics>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<OperationsMetrics>());
        return builder;
    }
}
