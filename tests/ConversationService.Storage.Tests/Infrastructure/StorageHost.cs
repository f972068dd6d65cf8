using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using RabbitMQ.Client;

namespace ConversationService.Storage.Tests.Infrastructure;

/// <summary>A database of its own (cs_test_&lt;32 hex&gt;), created for one test and dropped after it.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public static readonly string AdminConnectionString =
        Environment.GetEnvironmentVariable("ConnectionStrings__Postgres")
        ?? "Host=localhost;Port=5432;Username=conversation_service;Password=conversation_service;Database=postgres";

    public string Name { get; } = "cs_test_" + Guid.NewGuid().ToString("N");

    public string ConnectionString => new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = Name }.ConnectionString;

    public static async Task<TestDatabase> CreateAsync()
    {
        var database = new TestDatabase();
        await AdminAsync($"CREATE DATABASE {database.Name}");
        return database;
    }

    public async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        await command.ExecuteNonQueryAsync();
    }

    public async Task<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(read(reader));
        }
        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await AdminAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege && attempt < 20)
            {
                // FORCE may not end an autovacuum worker busy on the database (it is no session of this role): it ends soon.
                await Task.Delay(500);
            }
        }
    }

    private static async Task AdminAsync(string sql)
    {
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var command = new NpgsqlCommand(sql, admin);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// Instances of the service over one test database (replicas, restarts), with the keys of the own-store fixture's two
/// tenants and queues under a prefix of their own, which are deleted with the host.
/// </summary>
public sealed class StorageHost : IAsyncDisposable
{
    public const string TenantAKey = "own-store-key-tenant-a-0123456789";
    public const string TenantBKey = "own-store-key-tenant-b-9876543210";

    public static readonly string RabbitMq =
        Environment.GetEnvironmentVariable("ConnectionStrings__RabbitMq") ?? "amqp://guest:guest@localhost:5672/";

    private readonly List<WebApplicationFactory<Program>> _factories = [];

    public StorageHost(TestDatabase database) => Database = database;

    public TestDatabase Database { get; }

    public string EndpointPrefix { get; } = $"s{Guid.NewGuid():N}"[..13] + "-";

    /// <summary>A started instance; <paramref name="settings"/> win over the defaults.</summary>
    public WebApplicationFactory<Program> Start(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var factory = Create(settings);
        using var client = factory.CreateClient();
        return factory;
    }

    /// <summary>An instance that starts with its first client (or <see cref="WebApplicationFactory{T}.Server"/>).</summary>
    public WebApplicationFactory<Program> Create(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = Database.ConnectionString,
            ["ConnectionStrings:RabbitMq"] = RabbitMq,
            ["Logging:LogLevel:Default"] = "Warning",
            // The lexical hash: what these tests assert was written for it, and the local model would embed every turn they
            // append (tests/ConversationService.Tests/Embeddings/LocalModel* cover the model).
            ["Embeddings:Provider"] = "lexical",
            ["Auth:ApiKeys:0:Key"] = TenantAKey,
            ["Auth:ApiKeys:0:Tenant"] = "tenant-a",
            ["Auth:ApiKeys:1:Key"] = TenantBKey,
            ["Auth:ApiKeys:1:Tenant"] = "tenant-b",
            ["Messaging:EndpointPrefix"] = EndpointPrefix,
            ["EventStore:PollInterval"] = "00:00:00.050",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Testing");
            // Host settings reach the configuration the service reads while it registers its services (EventStore:RunDaemon).
            foreach (var (key, value) in all)
            {
                web.UseSetting(key, value);
            }
            web.ConfigureServices(services => services.Configure<MassTransitHostOptions>(options =>
            {
                options.WaitUntilStarted = true;
                options.StartTimeout = TimeSpan.FromMinutes(1);
            }));
        });
        _factories.Add(factory);
        return factory;
    }

    public static HttpClient Client(WebApplicationFactory<Program> factory, string tenant)
    {
        var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization =
            new AuthenticationHeaderValue("Bearer", tenant == "tenant-a" ? TenantAKey : TenantBKey);
        return client;
    }

    public static async Task<(HttpStatusCode Status, JsonNode? Body)> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.IsSuccessStatusCode && text.Length > 0 ? JsonNode.Parse(text) : null);
    }

    public static T Service<T>(WebApplicationFactory<Program> factory) where T : notnull =>
        factory.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        foreach (var factory in _factories)
        {
            await factory.DisposeAsync();
        }
        await DeleteQueuesAsync();
    }

    /// <summary>The durable queues and exchanges the instances declared under this host's prefix.</summary>
    private async Task DeleteQueuesAsync()
    {
        var formatter = new KebabCaseEndpointNameFormatter(EndpointPrefix, false);
        var consumerName = typeof(IEndpointNameFormatter).GetMethod(nameof(IEndpointNameFormatter.Consumer))!;
        var names = typeof(Program).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && t.IsAssignableTo(typeof(IConsumer)))
            .Select(t => (string)consumerName.MakeGenericMethod(t).Invoke(formatter, null)!)
            .SelectMany(name => new[] { name, name + "_error", name + "_skipped" });
        await using var connection = await new ConnectionFactory { Uri = new Uri(RabbitMq) }.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var name in names)
        {
            await channel.QueueDeleteAsync(name, ifUnused: false, ifEmpty: false);
            await channel.ExchangeDeleteAsync(name, ifUnused: false);
        }
    }
}
