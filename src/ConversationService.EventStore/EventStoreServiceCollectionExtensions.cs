using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ConversationService.EventStore;

public static class EventStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="EventStore"/>, its options (configuration section <c>EventStore</c>, then
    /// <see cref="EventStoreBuilder.Options"/>; validated at start), an <see cref="NpgsqlDataSource"/> from
    /// <c>ConnectionStrings:Postgres</c> (when none is registered), the event types, inline and async projections,
    /// a hosted service that creates or upgrades the schema at start-up, and the daemon (a hosted service) that runs
    /// the async projections once across replicas.
    /// </summary>
    public static IServiceCollection AddEventStore(
        this IServiceCollection services, Action<EventStoreBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = new EventStoreBuilder(services);
        configure(builder);

        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<EventStoreOptions>()
            .Configure<IServiceProvider>((options, provider) => provider.GetService<IConfiguration>()?.GetSection("EventStore").Bind(options))
            .Configure(options => builder.ConfigureOptions(options))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<EventStoreOptions>, EventStoreOptionsValidator>());
        services.TryAddSingleton(CreateDataSource);
        services.TryAddSingleton(provider => new EventStore(
            provider.GetRequiredService<NpgsqlDataSource>(),
            provider.GetRequiredService<IOptions<EventStoreOptions>>().Value,
            builder.Registry,
            provider.GetServices<IInlineProjection>(),
            provider.GetServices<IAsyncProjection>(),
            provider.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(provider => provider.GetRequiredService<EventStore>().Types);

        // Registration order is start order: the schema exists before the daemon (and the web server) start.
        services.AddHostedService<SchemaInitializer>();
        services.AddHostedService<AsyncDaemon>();
        return services;
    }

    private static NpgsqlDataSource CreateDataSource(IServiceProvider provider)
    {
        var connectionString = provider.GetService<IConfiguration>()?.GetConnectionString("Postgres");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                "No PostgreSQL connection: set ConnectionStrings:Postgres (environment ConnectionStrings__Postgres) or register an NpgsqlDataSource.");
        }

        // Appends repeat the same few statements; auto-preparing them saves a parse and plan per command. The store
        // leaves no session state behind (the daemon unlocks explicitly), so the per-checkout reset is skipped too.
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase))
        {
            settings.MaxAutoPrepare = 64;
        }

        if (!connectionString.Contains("Reset On Close", StringComparison.OrdinalIgnoreCase))
        {
            settings.NoResetOnClose = true;
        }

        return new NpgsqlDataSourceBuilder(settings.ConnectionString).Build();
    }
}

public sealed class EventStoreBuilder
{
    private readonly IServiceCollection _services;
    private readonly List<Action<EventStoreOptions>> _configureOptions = [];
    private readonly HashSet<Type> _projections = [];

    internal EventStoreBuilder(IServiceCollection services) => _services = services;

    internal EventTypeRegistry Registry { get; } = new();

    public EventStoreBuilder Events(Action<EventTypeRegistry> register)
    {
        ArgumentNullException.ThrowIfNull(register);
        register(Registry);
        return this;
    }

    /// <summary>Runs after the <c>EventStore</c> configuration section is bound, so code wins over configuration.</summary>
    public EventStoreBuilder Options(Action<EventStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _configureOptions.Add(configure);
        return this;
    }

    /// <summary>Registers <typeparamref name="T"/> as a singleton (resolvable as itself too) built by DI.</summary>
    public EventStoreBuilder InlineProjection<T>() where T : class, IInlineProjection
    {
        if (_projections.Add(typeof(T)))
        {
            _services.TryAddSingleton<T>();
            _services.AddSingleton<IInlineProjection>(provider => provider.GetRequiredService<T>());
        }

        return this;
    }

    /// <summary>Registers <typeparamref name="T"/> as a singleton (resolvable as itself too) built by DI.</summary>
    public EventStoreBuilder AsyncProjection<T>() where T : class, IAsyncProjection
    {
        if (_projections.Add(typeof(T)))
        {
            _services.TryAddSingleton<T>();
            _services.AddSingleton<IAsyncProjection>(provider => provider.GetRequiredService<T>());
        }

        return this;
    }

    internal void ConfigureOptions(EventStoreOptions options)
    {
        foreach (var configure in _configureOptions)
        {
            configure(options);
        }
    }
}

/// <summary>Creates or upgrades the schema when the host starts, before anything reads or writes.</summary>
internal sealed class SchemaInitializer(EventStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
