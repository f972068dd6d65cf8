using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace ConversationService.Client;

public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ConversationServiceClient"/> as a typed client of IHttpClientFactory with a retry policy
    /// that repeats only safe requests: reads, DELETE, PUT without If-Match, and the POSTs that cannot store anything
    /// twice (turns always carry ids; context and tokenize only read). Returns the client's builder for further handlers.
    /// </summary>
    public static IHttpClientBuilder AddConversationServiceClient(
        this IServiceCollection services, Action<ConversationServiceClientOptions> configure)
    {
        services.AddOptions<ConversationServiceClientOptions>().Configure(configure)
            .Validate(o => o.IsValid, "ConversationService client: BaseAddress (absolute) and ApiKey are required, "
                + "MaxRetries is 0-10, RetryDelay not negative and AttemptTimeout positive.")
            .ValidateOnStart();
        var builder = services.AddHttpClient<ConversationServiceClient>((provider, http) =>
        {
            var options = provider.GetRequiredService<IOptions<ConversationServiceClientOptions>>().Value;
            // A trailing slash, so the client's relative paths keep a base path such as /memory/.
            http.BaseAddress = new Uri(options.BaseAddress!.ToString().TrimEnd('/') + "/");
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
            // The attempt timeout and the retries bound each call; this is only the outer limit.
            http.Timeout = Timeout.InfiniteTimeSpan;
        });
        builder.AddResilienceHandler("conversation-service", (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<ConversationServiceClientOptions>>().Value;
            pipeline
                .AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = Math.Max(options.MaxRetries, 1),
                    Delay = options.RetryDelay,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    ShouldHandle = args => ValueTask.FromResult(options.MaxRetries > 0
                        && HttpClientResiliencePredicates.IsTransient(args.Outcome)
                        && ConversationServiceClient.IsSafeToRetry(args.Context.GetRequestMessage())),
                })
                .AddTimeout(options.AttemptTimeout);
        });
        return builder;
    }
}
