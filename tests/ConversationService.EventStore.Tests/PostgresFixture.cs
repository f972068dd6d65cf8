using ConversationService.EventStore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace ConversationService.EventStore.Tests;

/// <summary>A database of its own per test run, dropped at the end; every test then works in a fresh schema.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private const string DefaultConnectionString = "Host=localhost;Port=5432;Username=conversation_service;Password=conversation_service;Database=postgres";
    private static int _schemas;
    private readonly string _adminConnectionString =
        Environment.GetEnvironmentVariable("ConnectionStrings__Postgres") is { Length: > 0 } configured ? configured : DefaultConnectionString;
    private readonly string _database = $"cs_test_{Guid.NewGuid():N}";

    public string ConnectionString { get; private set; } = "";
    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await ExecuteAdminAsync($"CREATE DATABASE {_database}");
        ConnectionString = new NpgsqlConnectionStringBuilder(_adminConnectionString)
        {
            Database = _database,
            MaxAutoPrepare = 64,
            MaxPoolSize = 200,
        }.ConnectionString;
        DataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await DataSource.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await ExecuteAdminAsync($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
    }

    public static string NewSchema() => $"t{Interlocked.Increment(ref _schemas)}_{Guid.NewGuid():N}"[..20];

    /// <summary>
    /// Starts a host with the event store on a fresh schema (short poll and lock-retry intervals); <paramref name="services"/>
    /// adds to its container (a log sink, say).
    /// </summary>
    public async Task<TestHost> StartAsync(
        Action<EventStoreBuilder>? configure = null, string? schema = null, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton(DataSource);
        services?.Invoke(builder.Services);
        builder.Services.AddEventStore(store =>
        {
            store.Events(TestEvents.Register)
                .Options(options =>
                {
                    options.Schema = schema ?? NewSchema();
                    options.PollInterval = TimeSpan.FromMilliseconds(20);
                    options.LockRetryInterval = TimeSpan.FromMilliseconds(100);
                });
            configure?.Invoke(store);
        });
        var host = builder.Build();
        await host.StartAsync();
        return new TestHost(host);
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var command = DataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private async Task ExecuteAdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

public sealed class TestHost(IHost host) : IAsyncDisposable
{
    public IServiceProvider Services => host.Services;
    public EventStore Store => host.Services.GetRequiredService<EventStore>();
    public string Schema => Store.Options.Schema;

    public T Get<T>() where T : notnull => host.Services.GetRequiredService<T>();

    public Task StopAsync() => host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        host.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}

public static class Wait
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, int timeoutMs = 15_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(10);
        }
    }

    public static Task UntilAsync(Func<bool> condition, string what, int timeoutMs = 15_000) =>
        UntilAsync(() => Task.FromResult(condition()), what, timeoutMs);
}
