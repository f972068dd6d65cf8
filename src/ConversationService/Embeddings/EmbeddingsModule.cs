using ConversationService.Hosting;
using ConversationService.Conversations;
using ConversationService.Storage;
using ConversationService.Summaries;
using Marten;
using ConversationService.Messaging;
using ConversationService.Usage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ConversationService.Embeddings;

public static class EmbeddingsModule
{
    /// <summary>
    /// The configured generator (the local model by default), the vector store and, with a provider, the projection that fills
    /// it from the event log. Features add their texts by registering an <see cref="IEmbeddingSource"/>.
    /// </summary>
    public static WebApplicationBuilder AddEmbeddings(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddCheckedOptions<EmbeddingOptions>(builder.Configuration.GetSection("Embeddings"),
            (provider, o) => o.Problems(provider.GetRequiredService<IOptions<LlmOptions>>().Value));
        services.TryAddSingleton<LoadArcticModel>(() => ArcticModel.Packaged.Value);
        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<EmbeddingOptions>>().Value;
            return EmbeddingModel.Create(options, () => ProviderGenerator(provider, options), provider.GetRequiredService<LoadArcticModel>(),
                provider.GetRequiredService<ILoggerFactory>().CreateLogger<EmbeddingModel>());
        });
        services.AddSingleton(provider => provider.GetRequiredService<EmbeddingModel>().Generator);
        services.AddSingleton<EmbeddingStore>();
        services.AddSingleton<QueryWarmer>();
        services.AddSingleton<IAppendListener>(provider => provider.GetRequiredService<QueryWarmer>());
        services.AddHostedService(provider => provider.GetRequiredService<QueryWarmer>());
        services.AddSingleton<IEmbeddingSource, ConversationEmbeddingSource>();
        services.AddSingleton<EmbeddingProjection>();
        services.ConfigureMarten(options =>
        {
            options.Schema.For<EmbeddingVector>();
            options.Schema.For<EmbeddingRef>().Duplicate(r => r.Source).Duplicate(r => r.Hash);
        });
        // The lexical hash's vectors are a function of the text alone, computed in process where they are needed
        // (cheaper than reading them back): only the local model's and a provider's are stored, so with the hash there
        // is nothing to project. Decided from the model the container resolves, as the generator is: configuration a
        // host adds after this code ran (a test host does) would otherwise give a generator without its projection.
        services.ConfigureMarten((services, options) =>
        {
            if (services.GetRequiredService<EmbeddingModel>().Stored)
            {
                options.Events.Subscribe(services.GetRequiredService<EmbeddingProjection>());
            }
        });
        services.AddSingleton(services => new IndexingProjection(
            services.GetRequiredService<EmbeddingProjection>().Name, services.GetRequiredService<EmbeddingModel>().Stored));
        return builder;
    }

    /// <summary>
    /// The provider's generator: the OpenAI SDK's embedding client for <c>Llm:Endpoint</c> behind, from the outside in,
    /// the input limit, logging (content only at Trace), resilience (a breaker of its own) and OpenTelemetry (one span
    /// per attempt, no content).
    /// </summary>
    private static IEmbeddingGenerator<string, Embedding<float>> ProviderGenerator(IServiceProvider provider, EmbeddingOptions options)
    {
        var llm = provider.GetRequiredService<IOptions<LlmOptions>>().Value;
        return LlmResilience.Client(llm).GetEmbeddingClient(options.EffectiveModel).AsIEmbeddingGenerator(options.Dimensions)
            .AsBuilder()
            .Use(new InputTokenLimit(options).GenerateAsync)
            .UseLogging()
            .UseResilience(llm, provider.GetRequiredService<TimeProvider>())
            .UseOpenTelemetry(sourceName: LlmResilience.TelemetrySource, configure: telemetry => telemetry.EnableSensitiveData = false)
            .Build(provider);
    }
}
