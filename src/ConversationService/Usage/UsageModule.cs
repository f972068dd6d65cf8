using ConversationService.Hosting;

namespace ConversationService.Usage;

public static class UsageModule
{
    /// <summary>
    /// The LLM tier settings and daily budget, and the two usage logs (LLM calls, context requests), each a hosted
    /// service that writes its rows in the background.
    /// </summary>
    public static WebApplicationBuilder AddUsage(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddCheckedOptions<LlmOptions>(builder.Configuration.GetSection("Llm"), o => o.Problems());
        services.AddSingleton<UsageMetrics>();
        services.AddSingleton<LlmCallLog>();
        services.AddHostedService(provider => provider.GetRequiredService<LlmCallLog>());
        services.AddSingleton<DailyBudget>();
        services.AddSingleton<ContextUsageLog>();
        services.AddHostedService(provider => provider.GetRequiredService<ContextUsageLog>());
        return builder;
    }
}
