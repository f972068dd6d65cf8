using Marten;
using ConversationService.Hosting;
using MassTransit;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace ConversationService.Messaging;

public static class MessagingModule
{
    /// <summary>
    /// MassTransit on RabbitMQ (<c>ConnectionStrings:RabbitMq</c>): durable queues named by the kebab-case
    /// formatter with <see cref="MessagingOptions.EndpointPrefix"/>, bounded prefetch and concurrency, publisher
    /// confirms, and the integration-event publisher in the event-store daemon. Consumers of other features are
    /// added through <paramref name="consumers"/> so this stays the one place that configures the bus.
    /// </summary>
    public static WebApplicationBuilder AddMessaging(
        this WebApplicationBuilder builder, Action<IBusRegistrationConfigurator>? consumers = null)
    {
        var services = builder.Services;
        services.AddCheckedOptions<MessagingOptions>(builder.Configuration.GetSection("Messaging"), o => o.Problems());
        services.AddSingleton<IEndpointNameFormatter>(provider => new KebabCaseEndpointNameFormatter(
            provider.GetRequiredService<IOptions<MessagingOptions>>().Value.EndpointPrefix, false));
        services.AddSingleton<IntegrationEventPublisher>();
        services.AddSingleton(provider => new AppendTurnRules(
            provider.GetRequiredService<Conversations.TurnRules>(), () => provider.GetRequiredService<IOptions<LimitsOptions>>().Value));
        services.ConfigureMarten((provider, options) =>
            options.Events.Subscribe(provider.GetRequiredService<IntegrationEventPublisher>()));

        services.AddMassTransit(bus =>
        {
            // MassTransit 8.4 would otherwise report usage to a third-party host after start: a self-hosted service
            // makes no outbound calls it was not configured for (and the attempt fails, with a warning, offline).
            bus.DisableUsageTelemetry();
            bus.AddConsumers(typeof(MessagingModule).Assembly);
            consumers?.Invoke(bus);
            // The service's own RabbitMQ check decides readiness (503 when the broker is unreachable); the bus check
            // reports "Degraded" while it is still connecting, which keeps a freshly started replica ready.
            bus.ConfigureHealthCheckOptions(health =>
            {
                health.Name = "masstransit";
                health.MinimalFailureStatus = HealthStatus.Degraded;
                health.Tags.Add("ready");
            });
            bus.UsingRabbitMq((context, rabbit) =>
            {
                var uri = context.GetRequiredService<IOptions<ConnectionStringsOptions>>().Value.RabbitMq;
                var messaging = context.GetRequiredService<IOptions<MessagingOptions>>().Value;
                rabbit.Host(new Uri(uri), host => host.PublisherConfirmation = true);
                rabbit.Durable = true;
                rabbit.PrefetchCount = messaging.PrefetchCount;
                rabbit.ConcurrentMessageLimit = messaging.ConcurrentMessageLimit;
                rabbit.ConfigureEndpoints(context, context.GetRequiredService<IEndpointNameFormatter>());
            });
        });
        return builder;
    }
}
