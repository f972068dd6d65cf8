using ConversationService.Embeddings;
using ConversationService.EventStore;

namespace ConversationService.Examples;

public static class ExamplesModule
{
    /// <summary>
    /// The examples read model (inline) and their inputs for the embedding projection. The event types are
    /// registered with the store in the conversations module, which owns the store's registration.
    /// </summary>
    public static WebApplicationBuilder AddExamples(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<ExampleProjection>();
        services.AddSingleton<IInlineProjection>(provider => provider.GetRequiredService<ExampleProjection>());
        services.AddSingleton<IEmbeddingSource, ExampleEmbeddingSource>();
        services.AddSingleton<ExampleQueries>();
        services.AddSingleton<Context.ExampleIndexCache>();
        services.AddSingleton<IReplicaSubscription, Context.ExampleEviction>();
        return builder;
    }

    public static WebApplication MapExamples(this WebApplication app)
    {
        var examples = app.MapGroup("/examples").RequireAuthorization().WithTags("Examples");
        examples.MapPutExample();
        examples.MapGetExample();
        examples.MapDeleteExample();
        examples.MapListExamples();
        return app;
    }
}
