using ConversationService.Embeddings;
using ConversationService.EventStore;

namespace ConversationService.Knowledge;

public static class KnowledgeModule
{
    /// <summary>
    /// Documents and chunks (inline read model) and their chunk texts for the embedding projection. The event types
    /// are registered with the store in the conversations module, which owns the store's registration.
    /// </summary>
    public static WebApplicationBuilder AddKnowledge(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<KnowledgeProjection>();
        services.AddSingleton<IInlineProjection>(provider => provider.GetRequiredService<KnowledgeProjection>());
        services.AddSingleton<IEmbeddingSource, KnowledgeEmbeddingSource>();
        services.AddSingleton<KnowledgeQueries>();
        services.AddSingleton<Context.KnowledgeIndexCache>();
        services.AddSingleton<IReplicaSubscription, Context.KnowledgeEviction>();
        return builder;
    }

    public static WebApplication MapKnowledge(this WebApplication app)
    {
        var collections = app.MapGroup("/collections").RequireAuthorization().WithTags("Knowledge");
        collections.MapPutDocument();
        collections.MapGetDocument();
        collections.MapDeleteDocument();
        collections.MapListDocuments();
        return app;
    }
}
