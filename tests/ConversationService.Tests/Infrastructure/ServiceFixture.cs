using System.Net.Http.Headers;
using ConversationService.Conversations;
using Marten;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace ConversationService.Tests.Infrastructure;

/// <summary>
/// One service instance over a database of its own (cs_test_&lt;32 hex&gt;), created for the test run and dropped
/// afterwards, so parallel runs on one PostgreSQL never collide.
/// </summary>
public sealed class ServiceFixture : IAsyncLifetime
{
    public const string TenantAKey = "test-key-tenant-a-0123456789";
    public const string TenantBKey = "test-key-tenant-b-9876543210";
    public static readonly string RabbitMq =
        Environment.GetEnvironmentVariable("ConnectionStrings__RabbitMq") ?? "amqp://guest:guest@localhost:5672/";


    private readonly TestDatabase _database = new();

    public WebApplicationFactory<Program> Factory { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    private string EndpointPrefix => "w" + _database.Name[8..20] + "-";

    public async Task InitializeAsync()
    {
        await _database.CreateAsync();
        ConnectionString = _database.ConnectionString;
        Factory = CreateFactory(new Dictionary<string, string?>
        {
            ["Auth:ApiKeys:1:Key"] = TenantBKey,
            ["Auth:ApiKeys:1:Tenant"] = "tenant-b",
        });
        // Start the host now: schema creation belongs to the fixture, not to the first test's timing.
        using var client = Factory.CreateClient();
    }

    /// <summary>A factory over the same database with tenant A's key and extra settings, which win.</summary>
    public WebApplicationFactory<Program> CreateFactory(IReadOnlyDictionary<string, string?> settings) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Testing");
            web.ConfigureAppConfiguration(config => config.AddInMemoryCollection(StartSettings(settings)));
            web.WaitForBus();
        });

    /// <summary>Every setting a <see cref="CreateFactory"/> instance gets; <paramref name="settings"/> win.</summary>
    public Dictionary<string, string?> StartSettings(IReadOnlyDictionary<string, string?> settings, bool withKeys = true)
    {
        var all = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = ConnectionString,
            ["ConnectionStrings:RabbitMq"] = RabbitMq,
            // Queues of their own, so this run's hosts never consume another run's (or fixture's) commands.
            ["Messaging:EndpointPrefix"] = EndpointPrefix,
            ["Logging:LogLevel:Default"] = "Warning",
            // The lexical hash: what these tests assert was written for it, and the local model would embed every turn they
            // append (tests/ConversationService.Tests/Embeddings/LocalModel* cover the model).
            ["Embeddings:Provider"] = "lexical",
        };
        if (withKeys)
        {
            all["Auth:ApiKeys:0:Key"] = TenantAKey;
            all["Auth:ApiKeys:0:Tenant"] = "tenant-a";
        }
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }
        return all;
    }

    public ApiClient Client(string? apiKey = TenantAKey)
    {
        var client = Factory.CreateClient();
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
        return new ApiClient(client);
    }

    /// <summary>Runs <paramref name="act"/> as tenant A on a second host over the same database: another replica.</summary>
    public async Task<T> OnAnotherReplicaAsync<T>(Func<ApiClient, Task<T>> act)
    {
        await using var other = CreateFactory(new Dictionary<string, string?>());
        using var client = other.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TenantAKey);
        return await act(new ApiClient(client));
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        await BrokerQueues.DeleteAsync(RabbitMq, [EndpointPrefix]);
        await _database.DropAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ServiceCollection : ICollectionFixture<ServiceFixture>
{
    public const string Name = "service";
}

public static class ServiceFixtureQueries
{
    /// <summary>The service's Marten store (documents and events of every tenant).</summary>
    public static IDocumentStore Store(this ServiceFixture fixture) => fixture.Factory.Services.GetRequiredService<IDocumentStore>();

    /// <summary>Read-model documents (the conversation and its turns) left for a conversation id in any tenant.</summary>
    public static async Task<long> CountReadModelRowsAsync(this ServiceFixture fixture, string conversationId)
    {
        await using var session = fixture.Store().QuerySession();
        var conversations = await session.Query<ConversationView>()
            .Where(c => c.AnyTenant() && c.Id == conversationId).CountAsync();
        var turns = await session.Query<TurnView>()
            .Where(t => t.AnyTenant() && t.ConversationId == conversationId).CountAsync();
        return conversations + turns;
    }

    /// <summary>The turn ids of a conversation's TurnAppended events, in stream order, read through Marten.</summary>
    public static async Task<List<string>> StoredTurnIdsAsync(this ServiceFixture fixture, string conversationId, string tenant = "tenant-a")
    {
        await using var session = fixture.Store().QuerySession(tenant);
        var events = await session.Events.FetchStreamAsync(conversationId);
        return [.. events.Select(e => e.Data).OfType<TurnAppended>().Select(t => t.TurnId)];
    }

    /// <summary>
    /// The stored events of the given streams (any tenant), by stream id (ordinal) and version, as their rows hold them
    /// in Marten's log: what erasure must have rewritten is checked in the stored JSON itself, not in what a reader
    /// makes of it.
    /// </summary>
    public static async Task<List<(string Stream, long Version, string Type, string Data)>> StoredEventsAsync(
        string connectionString, params string[] streamIds)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT stream_id, version, type, data::text FROM conversations.mt_events
            WHERE stream_id = ANY($1) ORDER BY stream_id COLLATE "C", version
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = streamIds });
        await using var reader = await command.ExecuteReaderAsync();
        var events = new List<(string, long, string, string)>();
        while (await reader.ReadAsync())
        {
            events.Add((reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3)));
        }
        return events;
    }
}
