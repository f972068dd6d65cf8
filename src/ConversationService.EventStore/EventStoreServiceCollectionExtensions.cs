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
    /// <c>ConnectionStrings:Postgres</c> bounded by <see cref="PostgresOptions"/> (section <c>Postgres</c>, validated at
    /// start; when no data source is registered), the event types, inline and async projections,
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
        services.AddOptions<PostgresOptions>()
            .Configure<IServiceProvider>((options, provider) => provider.GetService<IConfiguration>()?.GetSection("Postgres").Bind(options))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresOptions>, PostgresOptionsValidator>());
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

        return new NpgsqlDataSourceBuilder(Tune(connectionString, provider.GetRequiredService<IOptions<PostgresOptions>>().Value)).Build();
    }

    /// <summary>
    /// Defaults for settings the connection string leaves out. Appends repeat the same few statements: auto-preparing
    /// them saves a parse and plan per command. The store leaves no session state behind (the daemon unlocks
    /// explicitly), so the per-checkout reset is skipped. On loopback TLS protects nothing and encrypting every
    /// byte costs both processes CPU (a tenth of the service's on the context endpoint), so it is not negotiated
    /// there; any other host keeps Npgsql's default. The pool's size and wait come from <paramref name="pool"/>
    /// (Npgsql's own defaults, 100 connections and 15 s, let one busy replica take a whole server).
    /// </summary>
    internal static string Tune(string connectionString, PostgresOptions? pool = null)
    {
        pool ??= new PostgresOptions();
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        // Npgsql's builder names each key it was given canonically ("MaxPoolSize" becomes "Maximum Pool Size").
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = settings.ConnectionString }.Keys
            .Cast<string>().Select(key => key.Replace(" ", "", StringComparison.Ordinal)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (!given.Contains("MaximumPoolSize"))
        {
            settings.MaxPoolSize = pool.MaxPoolSize;
        }
        if (!given.Contains("Timeout"))
        {
            settings.Timeout = pool.TimeoutSeconds;
        }
        if (!given.Contains("MaxAutoPrepare"))
        {
            settings.MaxAutoPrepare = 64;
        }
        if (!given.Contains("NoResetOnClose"))
        {
            settings.NoResetOnClose = true;
        }
        if (!given.Contains("SslMode") && IsLoopback(settings.Host))
        {
            settings.SslMode = SslMode.Disable;
        }
        return settings.ConnectionString;
    }

    // Several hosts (failover) count as loopback only when all are; a path is a Unix-domain socket.
    private static bool IsLoopback(string? hosts) =>
        !string.IsNullOrWhiteSpace(hosts) && hosts.Split(',').All(host =>
        {
            var name = host.Trim();
            if (name.StartsWith('/') || name.StartsWith('@'))
            {
                return true;
            }
            if (name.StartsWith('[') && name.IndexOf(']') is > 0 and var end)
            {
                name = name[1..end]; // [IPv6]:port
            }
            else if (name.IndexOf(':') is > 0 and var colon && colon == name.LastIndexOf(':'))
            {
                name = name[..colon]; // host:port
            }
            return name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
                || (System.Net.IPAddress.TryParse(name, out var address) && System.Net.IPAddress.IsLoopback(address));
        });
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

    /// <summary>
    /// Registers <typeparamref name="T"/> as a singleton (resolvable as itself too) built by DI, followed on every
    /// replica (see <see cref="IReplicaSubscription"/>).
    /// </summary>
    public EventStoreBuilder ReplicaSubscription<T>() where T : class, IReplicaSubscription
    {
        if (_projections.Add(typeof(T)))
        {
            _services.TryAddSingleton<T>();
            _services.AddSingleton<IReplicaSubscription>(provider => provider.GetRequiredService<T>());
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
