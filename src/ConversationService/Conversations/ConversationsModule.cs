using ConversationService.Context;
using ConversationService.EventStore;
using ConversationService.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ConversationService.Conversations;

public static class ConversationsModule
{
    public static WebApplicationBuilder AddConversations(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        // Registered before the event store so its daemon finds the schema already created.
        services.AddHostedService<SchemaInitializer>();
        services.AddSingleton(sp => NpgsqlDataSource.Create(sp.GetRequiredService<IOptions<ConnectionStringsOptions>>().Value.Postgres));
        var schema = builder.Configuration["EventStore:Schema"] ?? "conversations";
        services.AddEventStore(store => store
            .Options(o =>
            {
                builder.Configuration.GetSection("EventStore").Bind(o);
                o.Schema = schema;
            })
            .Events(events => events
                .Register<ConversationStarted>()
                .Register<ConversationSettingsChanged>()
                .Register<TurnAppended>()
                .Register<ConversationDeleted>())
            .InlineProjection<ConversationProjection>());
        services.AddSingleton<ConversationQueries>();
        services.AddSingleton<ConversationWriter>();
        services.AddSingleton<ModelTokenizers>();
        return builder;
    }

    public static WebApplication MapConversations(this WebApplication app)
    {
        var conversations = app.MapGroup("/conversations").RequireAuthorization().WithTags("Conversations");
        conversations.MapPutConversation();
        conversations.MapGetConversation();
        conversations.MapDeleteConversation();
        conversations.MapAppendTurns();
        conversations.MapGetTurns();
        conversations.MapGetContext();
        return app;
    }

    /// <summary>Creates or upgrades the event-store schema and the read-model tables before requests are served.</summary>
    private sealed class SchemaInitializer(EventStore.EventStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
