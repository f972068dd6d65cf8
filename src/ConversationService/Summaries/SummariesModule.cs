using ConversationService.EventStore;
using ConversationService.Messaging;
using ConversationService.Usage;
using Microsoft.Extensions.Options;

namespace ConversationService.Summaries;

public static class SummariesModule
{
    /// <summary>
    /// The summary read model (inline), the trigger (daemon) and the summarizer. The consumer is found by the
    /// messaging module, which registers every consumer of this assembly.
    /// </summary>
    public static WebApplicationBuilder AddSummaries(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<SummariesOptions>()
            .Bind(builder.Configuration.GetSection("Summaries"))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<SummariesOptions>>(new ProblemsValidator<SummariesOptions>(o => o.Problems()));

        services.AddSingleton<SummaryProjection>();
        services.AddSingleton<IInlineProjection>(provider => provider.GetRequiredService<SummaryProjection>());
        services.AddSingleton<SummaryTrigger>();
        services.AddSingleton<IAsyncProjection>(provider => provider.GetRequiredService<SummaryTrigger>());
        services.AddSingleton<SummaryQueries>();
        services.AddOptions<LlmOptions>()
            .Bind(builder.Configuration.GetSection("Llm"))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<LlmOptions>>(new ProblemsValidator<LlmOptions>(o => o.Problems()));
        services.AddSingleton<LlmCallLog>();
        services.AddHostedService(provider => provider.GetRequiredService<LlmCallLog>());
        services.AddSingleton<DailyBudget>();
        services.AddSingleton<ContextUsageLog>();
        services.AddHostedService(provider => provider.GetRequiredService<ContextUsageLog>());
        services.AddSingleton<ExtractiveSummarizer>();
        services.AddSingleton<LlmSummarizer>();
        services.AddSingleton<ISummarizer, SummarizerRouter>();
        return builder;
    }
}
