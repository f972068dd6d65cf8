using ConversationService.Hosting;
using ConversationService.Messaging;
using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.MultiTenancy;
using Marten;
using Microsoft.Extensions.Options;
using Npgsql;
using Weasel.Core;

namespace ConversationService.Storage;

/// <summary>
/// The event store: Marten on PostgreSQL with string stream keys, conjoined tenancy (every event and document carries
/// the API key's tenant), System.Text.Json in camel case and Quick appends with the service's clock. Features add their
/// own event types, projections and subscriptions with <c>services.ConfigureMarten(...)</c>.
/// </summary>
public static class StorageModule
{
    public static WebApplicationBuilder AddEventStore(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddCheckedOptions<EventStoreOptions>(builder.Configuration.GetSection("EventStore"), StorageOptionsValidator.Problems);
        // The pool, also against what the daemon and the group commit hold on the connection string in use.
        services.AddCheckedOptions<PostgresOptions>(builder.Configuration.GetSection("Postgres"), (provider, pool) =>
            StorageOptionsValidator.Problems(pool).Concat(StorageOptionsValidator.Problems(pool,
                provider.GetRequiredService<IOptions<EventStoreOptions>>().Value,
                provider.GetRequiredService<IConfiguration>().GetConnectionString("Postgres"))));

        // The schema names the tables before the container is built, so it is checked here rather than at start.
        var storage = builder.Configuration.GetSection("EventStore").Get<EventStoreOptions>() ?? new EventStoreOptions();
        if (StorageOptionsValidator.Problems(storage).FirstOrDefault() is { } problem)
        {
            throw new OptionsValidationException(nameof(EventStoreOptions), typeof(EventStoreOptions), [problem]);
        }
        services.AddSingleton(new DatabaseSchema(storage.Schema));
        services.AddSingleton(provider => DataSources.Create(
            provider.GetRequiredService<IConfiguration>().GetConnectionString("Postgres"),
            provider.GetRequiredService<IOptions<PostgresOptions>>().Value));

        // Before Marten's own hosted services: the import runs while the host is starting, ahead of all of them.
        services.AddSingleton<OwnStoreImport>();
        services.AddHostedService(provider => provider.GetRequiredService<OwnStoreImport>());
        var marten = services.AddMarten(provider => Configure(storage.Schema, provider.GetRequiredService<TimeProvider>()))
            .UseNpgsqlDataSource()
            .UseLightweightSessions()
            .ApplyAllDatabaseChangesOnStartup();
        // One replica runs each projection and subscription (an advisory lock per shard); the others stand by.
        marten.AddAsyncDaemon(DaemonMode.HotCold);
        // Whether this replica takes part is decided from the options the container holds: configuration a host adds
        // after this code ran (a test host does) would otherwise be ignored. Without it, the daemon is the other
        // replicas' to run ("externally managed"): the coordinator does nothing, and Marten does not print that async
        // projections will not run, as it would for a disabled daemon.
        services.ConfigureMarten((provider, options) =>
        {
            if (!provider.GetRequiredService<IOptions<EventStoreOptions>>().Value.RunDaemon)
            {
                options.Projections.AsyncMode = DaemonMode.ExternallyManaged;
            }
        });
        UseStoreLogger(services);
        services.AddSingleton<GroupCommit>();
        services.AddSingleton<ParkedEventCounter>();
        return builder;
    }

    /// <summary>
    /// Marten's default command logger writes every parameter of a failed command (content) at Error; the store gets
    /// <see cref="StoreLogger"/> instead once Marten built it. Not in the options: a logger set there keeps Marten from
    /// giving the store the host's logger factory, which its daemon logs through.
    /// </summary>
    private static void UseStoreLogger(IServiceCollection services)
    {
        var registration = services.Last(s => s.ServiceType == typeof(IDocumentStore));
        var create = registration.ImplementationFactory
            ?? throw new InvalidOperationException("Marten registers its IDocumentStore with a factory; this version does not.");
        services.Remove(registration);
        services.AddSingleton<IDocumentStore>(provider =>
        {
            var store = (DocumentStore)create(provider);
            store.Options.Logger(new StoreLogger(provider.GetRequiredService<ILogger<IDocumentStore>>()));
            return store;
        });
    }

    /// <summary>The daemon's leadership lock, and at most two event loads and two batch writes at once.</summary>
    public const int DaemonConnections = 5;

    private static StoreOptions Configure(string schema, TimeProvider time)
    {
        var options = new StoreOptions { DatabaseSchemaName = schema };
        options.UseSystemTextJsonForSerialization(EnumStorage.AsString, Casing.CamelCase);
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        options.Events.DatabaseSchemaName = schema;
        options.Events.StreamIdentity = StreamIdentity.AsString;
        options.Events.TenancyStyle = TenancyStyle.Conjoined;
        options.Policies.AllDocumentsAreMultiTenanted();
        // Quick appends draw versions in the database; timestamps come from the service's clock (tests move it).
        options.Events.AppendMode = EventAppendMode.QuickWithServerTimestamps;
        options.Events.TimeProvider = time;
        // Appends at an expected version lock the stream's row before checking it. Otherwise two writers of one stream
        // (two replicas) both pass the check, both draw a sequence number, and the loser's leaves a gap that holds the
        // daemon's high-water mark, and with it every subscription and replica tail, for seconds; it also fails with a
        // unique violation that does not name the stream, instead of Marten's version conflict.
        options.Events.UseExclusiveLockOnConcurrentAppends = true;
        options.Events.MetadataConfig.CorrelationIdEnabled = true;
        options.Events.MetadataConfig.CausationIdEnabled = true;
        options.Projections.MaxConcurrentEventLoadsPerDatabase = 2;
        options.Projections.MaxConcurrentBatchWritesPerDatabase = 2;
        options.Schema.For<OwnStoreImported>();
        return options;
    }
}
