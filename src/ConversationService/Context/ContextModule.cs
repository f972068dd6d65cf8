using ConversationService.Storage;
using ConversationService.Context.GetContext;

namespace ConversationService.Context;

public static class ContextModule
{
    /// <summary>Context assembly's sources and caches, each kept current by a subscription on every replica.</summary>
    public static WebApplicationBuilder AddContext(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<ConversationIndexCache>();
        services.AddSingleton<ContextVectors>();
        // Shared by the knowledge and example caches.
        services.AddSingleton<LibraryCache>();
        services.AddSingleton<KnowledgeIndexCache>();
        services.AddReplicaSubscription<KnowledgeEviction>();
        services.AddSingleton<ExampleIndexCache>();
        services.AddReplicaSubscription<ExampleEviction>();
        services.AddSingleton<ContextResponseCache>();
        services.AddSingleton<ContextMaterial>();
        services.AddSingleton<ContextMetrics>();
        services.AddSingleton<ContextAnswers>();
        return builder;
    }
}
