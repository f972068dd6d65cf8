using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ConversationService.Client.Chat;

public static class ConversationMemoryChatClientBuilderExtensions
{
    /// <summary>
    /// Gives the chat client memory: <c>chatClient.AsBuilder().UseConversationMemory(options).Build(services)</c>.
    /// The <see cref="ConversationServiceClient"/> comes from the builder's services (AddConversationServiceClient)
    /// unless one is given.
    /// </summary>
    public static ChatClientBuilder UseConversationMemory(
        this ChatClientBuilder builder, ConversationMemoryOptions? options = null, ConversationServiceClient? client = null) =>
        builder.Use((inner, services) => new ConversationMemoryChatClient(
            inner, client ?? services.GetRequiredService<ConversationServiceClient>(), options ?? new ConversationMemoryOptions(),
            services.GetService<ILoggerFactory>()?.CreateLogger<ConversationMemoryChatClient>() ?? NullLogger<ConversationMemoryChatClient>.Instance));
}
