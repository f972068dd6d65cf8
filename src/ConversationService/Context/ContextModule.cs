using ConversationService.Context.GetContext;

namespace ConversationService.Context;

public static class ContextModule
{
    /// <summary>Context assembly's sources and caches; the knowledge and example caches come with their features.</summary>
    public static WebApplicationBuilder AddContext(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<ConversationIndexCache>();
        services.AddSingleton<ContextVectors>();
        // Shared by the knowledge and example caches.
        services.AddSingleton<LibraryCache>();
        services.AddSingleton<ContextResponseCache>();
        services.AddSingleton<ContextMaterial>();
        services.AddSingleton<ContextAnswers>();
        return builder;
    }
}
