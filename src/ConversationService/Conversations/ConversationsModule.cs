using ConversationService.Context;
using ConversationService.Storage;
using Marten;
using ConversationService.Hosting;

namespace ConversationService.Conversations;

public static class ConversationsModule
{
    public static WebApplicationBuilder AddConversations(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.ConfigureMarten(ConversationProjection.Register);
        services.AddReplicaSubscription<ConversationEviction>();
        services.AddSingleton<DeletedConversations>();
        services.AddSingleton<ConversationSnapshots>();
        services.AddSingleton<ConversationQueries>();
        services.AddSingleton<ConversationWriter>();
        services.AddSingleton<TurnAppender>();
        services.AddSingleton<IndexedVersions>();
        services.AddSingleton<ModelTokenizers>();
        services.AddSingleton<ConversationIndexCache>();
        services.AddSingleton<ContextVectors>();
        // Shared by the knowledge and example caches, so registered with the other shared context services.
        services.AddSingleton<LibraryCache>();
        services.AddSingleton<ContextResponseCache>();
        return builder;
    }

    public static WebApplication MapConversations(this WebApplication app)
    {
        var conversations = app.MapGroup("/conversations").RequireAuthorization().WithTags("Conversations")
            .AddEndpointFilter(RejectInvalidId);
        conversations.MapGetContext();
        conversations.MapPostContext();
        return app;
    }

    // Every endpoint of the group names one conversation; an id that could never be stored is a 400 before any I/O.
    private static ValueTask<object?> RejectInvalidId(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        Identifiers.IsValid(context.HttpContext.GetRouteValue("id") as string)
            ? next(context)
            : ValueTask.FromResult<object?>(Problems.Invalid("id", $"A conversation id is {Identifiers.Rule}."));
}
