using ConversationService.Embeddings;
using ConversationService.Storage;
using Marten;

namespace ConversationService.Examples;

public static class ExamplesModule
{
    /// <summary>
    /// The examples read model (inline) and their inputs for the embedding projection.
    /// </summary>
    public static WebApplicationBuilder AddExamples(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.ConfigureMarten(ExampleProjection.Register);
        services.AddSingleton<IEmbeddingSource, ExampleEmbeddingSource>();
        services.AddSingleton<ExampleQueries>();
        return builder;
    }
}
