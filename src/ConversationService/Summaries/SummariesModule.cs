using ConversationService.Hosting;
using Marten;
using ConversationService.Messaging;
using ConversationService.Usage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace ConversationService.Summaries;

public static class SummariesModule
{
    /// <summary>
    /// The summary event, the trigger (a subscription in the daemon) and the summarizer. The consumer is found by the
    /// messaging module, which registers every consumer of this assembly.
    /// </summary>
    public static WebApplicationBuilder AddSummaries(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddCheckedOptions<SummariesOptions>(builder.Configuration.GetSection("Summaries"), o => o.Problems());

        services.AddSingleton<SummaryTrigger>();
        services.ConfigureMarten((provider, options) =>
        {
            options.Events.AddEventType<ConversationSummarized>();
            options.Events.AddEventType<DailyBudgetReached>();
            options.Schema.For<PendingSummary>();
            options.Events.Subscribe(provider.GetRequiredService<SummaryTrigger>());
        });
        services.AddSingleton<ExtractiveSummarizer>();
        services.AddSingleton<IChatClient>(ChatClient);
        services.AddSingleton<LlmSummarizer>();
        services.AddSingleton<ISummarizer, SummarizerRouter>();
        services.AddSingleton<ProvisionalSummaries>();
        services.AddHostedService(provider => provider.GetRequiredService<ProvisionalSummaries>());
        services.AddSingleton<SummaryJobs>();
        services.AddSingleton<SummaryBatchTable>();
        services.AddHostedService(provider => provider.GetRequiredService<SummaryBatchTable>());
        services.AddSingleton<BatchApi>();
        services.AddSingleton<SummaryBatches>();
        services.AddHostedService(provider => provider.GetRequiredService<SummaryBatches>());
        return builder;
    }

    /// <summary>
    /// The summaries' chat client: the OpenAI SDK's client for <c>Llm:Endpoint</c> (the cheap tier by default; each
    /// call names its tier) behind, from the outside in, logging (content only at Trace), resilience and
    /// OpenTelemetry (one span per attempt, no content). Built on first use: without a key nothing resolves it.
    /// </summary>
    private static IChatClient ChatClient(IServiceProvider provider)
    {
        var llm = provider.GetRequiredService<IOptions<LlmOptions>>().Value;
        return LlmResilience.Client(llm).GetChatClient(llm.Tiers[0]).AsIChatClient()
            .AsBuilder()
            .UseLogging()
            .UseResilience(llm, provider.GetRequiredService<TimeProvider>())
            .UseOpenTelemetry(sourceName: LlmResilience.TelemetrySource, configure: telemetry => telemetry.EnableSensitiveData = false)
            .Build(provider);
    }
}
