using ConversationService.Conversations;
using ConversationService.Storage;
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
        services.AddOptions<EmbeddingOptions>()
            .Bind(builder.Configuration.GetSection("Embeddings"))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<EmbeddingOptions>>(provider => new ProblemsValidator<EmbeddingOptions>(
            o => o.Problems(provider.GetRequiredService<IOptions<LlmOptions>>().Value)));
        services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<EmbeddingOptions>>().Value;
            return options.IsOpenAi
                ? new OpenAiEmbeddingGenerator(
                    options, provider.GetRequiredService<IOptions<LlmOptions>>().Value, provider.GetRequiredService<TimeProvider>())
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
}
