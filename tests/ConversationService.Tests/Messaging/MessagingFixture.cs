using System.Net.Http.Headers;
using ConversationService.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;

namespace ConversationService.Tests.Messaging;

/// <summary>
/// A service over a database of its own whose queues carry a per-run prefix, so commands it sends to itself are
/// consumed by this run only, even with other test runs (or a local service) on the same virtual host.
/// Integration-event exchanges are shared by design; tests tell their messages apart by conversation id.
/// </summary>
public class MessagingFixture : IAsyncLifetime
{

    private readonly TestDatabase _database = new();
    private readonly List<WebApplicationFactory<Program>> _factories = [];
    private readonly List<(string RabbitMq, string Prefix)> _endpoints = [];

    public string EndpointPrefix { get; } = $"t{Guid.NewGuid():N}"[..13] + "-";

    public string ConnectionString { get; private set; } = "";

    public WebApplicationFactory<Program> Factory { get; private set; } = null!;

    /// <summary>Settings every instance of this fixture gets, after the defaults.</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public virtual async Task InitializeAsync()
    {
        await _database.CreateAsync();
        ConnectionString = _database.ConnectionString;
        Factory = CreateFactory();
        using var client = Factory.CreateClient();
    }

    /// <summary>Anything else every instance gets (a log sink, say).</summary>
    protected virtual void Configure(IWebHostBuilder web)
    {
    }

    /// <summary>Every setting an instance gets: the defaults, then <see cref="Settings"/>, then <paramref name="settings"/>.</summary>
    public Dictionary<string, string?> StartSettings(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = ConnectionString,
            ["ConnectionStrings:RabbitMq"] = ServiceFixture.RabbitMq,
            ["Logging:LogLevel:Default"] = "Warning",
            // The lexical hash: what these tests assert was written for it, and the local model would embed every turn they
            // append (tests/ConversationService.Tests/Embeddings/LocalModel* cover the model).
            ["Embeddings:Provider"] = "lexical",
            ["Auth:ApiKeys:0:Key"] = ServiceFixture.TenantAKey,
            ["Auth:ApiKeys:0:Tenant"] = "tenant-a",
            ["Auth:ApiKeys:1:Key"] = ServiceFixture.TenantBKey,
            ["Auth:ApiKeys:1:Tenant"] = "tenant-b",
            ["Messaging:EndpointPrefix"] = EndpointPrefix,
            ["EventStore:PollInterval"] = "00:00:00.050",
        };
        foreach (var (key, value) in Settings.Concat(settings ?? new Dictionary<string, string?>()))
        {
            all[key] = value;
        }
        return all;
    }

    /// <summary>Another instance over the same database and queues (later settings override earlier ones).</summary>
    public WebApplicationFactory<Program> CreateFactory(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var all = StartSettings(settings);
        _endpoints.Add((all["ConnectionStrings:RabbitMq"]!, all["Messaging:EndpointPrefix"]!));
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseEnvironment("Testing");
            web.ConfigureAppConfiguration(config => config.AddInMemoryCollection(all));
            web.WaitForBus();
            Configure(web);
        });
        _factories.Add(factory);
        return factory;
    }

    public ApiClient Client(WebApplicationFactory<Program>? factory = null, string apiKey = ServiceFixture.TenantAKey)
    {
        var client = (factory ?? Factory).CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return new ApiClient(client);
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var factory in _factories)
        {
            await factory.DisposeAsync();
        }
        foreach (var broker in _endpoints.GroupBy(e => e.RabbitMq))
        {
            await BrokerQueues.DeleteAsync(broker.Key, broker.Select(e => e.Prefix));
        }
        await _database.DropAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class MessagingCollection : ICollectionFixture<MessagingFixture>
{
    public const string Name = "messaging";
}
