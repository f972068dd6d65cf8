using ConversationService.Storage;
using Marten;
using Microsoft.Extensions.Options;
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
        // Built once: a validator compiles its rules when it is constructed.
        services.AddSingleton(provider => new TurnRules(() => provider.GetRequiredService<IOptions<LimitsOptions>>().Value));
        return builder;
    }
}
