using ConversationService.Hosting;
using ConversationService.Conversations;
using ConversationService.Storage;
using ConversationService.Summaries;
using Marten;
using ConversationService.Messaging;
using ConversationService.Relevance;
using ConversationService.Usage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace ConversationService.Embeddings;

public static class EmbeddingsModule
{
    /// <summary>
    /// The configured generator (offline by default), the vector store and, with a provider, the projection that fills
    /// it from the event log. Features add their texts by registering an <see cref="IEmbeddingSource"/>.
    /// </summary>
    public static WebApplicationBuilder AddEmbeddings(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddCheckedOptions<EmbeddingOptions>(builder.Configuration.GetSection("Embeddings"),
            (provider, o) => o.Problems(provider.GetRequiredService<IOptions<LlmOptions>>().Value));
        services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<EmbeddingOptions>>().Value;
            return options.IsOpenAi
                ? ProviderGenerator(provider, options)
                : new LexicalEmbeddingGenerator(options.Dimensions ?? LexicalEmbeddingGenerator.DefaultDimensions);
        });
        services.AddSingleton<EmbeddingStore>();
        services.AddSingleton<IEmbeddingSource, ConversationEmbeddingSource>();
        services.AddSingleton<EmbeddingProjection>();
        services.ConfigureMarten(options =>
        {
            options.Schema.For<EmbeddingVector>();
            options.Schema.For<EmbeddingRef>().Duplicate(r => r.Source).Duplicate(r => r.Hash);
        });
        // Offline vectors are a function of the text alone, computed in process where they are needed (cheaper than
        // reading them back): only a provider's vectors are stored, so offline there is nothing to project. Decided
        // from the options the container holds, as the generator above is: configuration a host adds after this code
        // ran (a test host does) would otherwise give a provider's generator without its projection.
        services.ConfigureMarten((services, options) =>
        {
            if (services.GetRequiredService<IOptions<EmbeddingOptions>>().Value.IsOpenAi)
            {
                options.Events.Subscribe(services.GetRequiredService<EmbeddingProjection>());
            }
        });
        services.AddSingleton(services => new IndexingProjection(
            services.GetRequiredService<EmbeddingProjection>().Name,
            services.GetRequiredService<IOptions<EmbeddingOptions>>().Value.IsOpenAi));
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
