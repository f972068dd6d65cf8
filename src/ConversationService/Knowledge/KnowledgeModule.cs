using ConversationService.Embeddings;
using ConversationService.Storage;
using Marten;

namespace ConversationService.Knowledge;

public static class KnowledgeModule
{
    /// <summary>
    /// Documents and their chunks (an inline read model) and their chunk texts for the embedding projection.
    /// </summary>
    public static WebApplicationBuilder AddKnowledge(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.ConfigureMarten(KnowledgeProjection.Register);
        services.AddSingleton<IEmbeddingSource, KnowledgeEmbeddingSource>();
        services.AddSingleton<KnowledgeQueries>();
        return builder;
    }
}
