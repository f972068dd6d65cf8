using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConversationService.Conversations;
using ConversationService.Examples;
using ConversationService.Knowledge;
using ConversationService.Storage.Tests.Infrastructure;
using Marten;
using Microsoft.AspNetCore.Mvc.Testing;

namespace ConversationService.Storage.Tests;

/// <summary>
/// Every projection can be rebuilt from the log with one command (README, "Rebuilding projections"), and what it
/// rebuilds is what the service had built live: a rebuild deletes what each projection owns first, so nothing stale
/// survives, deleted conversations, documents and examples stay deleted and erased content stays erased.
/// </summary>
public sealed class RebuildTests
{
    private static readonly string[] Tenants = ["tenant-a", "tenant-b"];

    private static readonly string[] ApiPaths =
    [
        "/conversations/chat-1", "/conversations/chat-1/turns?limit=1000", "/conversations/chat-2",
        "/conversations/chat-2/turns?limit=1000", "/conversations/gone", "/collections/manuals/documents",
        "/collections/manuals/documents/setup", "/collections/manuals/documents/old", "/examples", "/examples/greet",
    ];

    [Fact]
    public async Task Given_read_models_built_live_When_every_projection_is_rebuilt_with_the_documented_command_Then_they_equal_the_live_ones()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var host = new StorageHost(database);
        var service = host.Start(new Dictionary<string, string?>
        {
            ["Summaries:RecentWindowTokens"] = "40",
            ["Summaries:ThresholdTokens"] = "30",
        });
        await WriteThroughTheApiAsync(service);
        var live = await SnapshotAsync(service);
        var liveApi = await ReadThroughTheApiAsync(service);
        // Something no event explains: a rebuild must not keep it.
        await using (var session = StorageHost.Service<IDocumentStore>(service).LightweightSession("tenant-a"))
        {
            session.Store(new ConversationView { Id = "stray", Model = "gpt-4o" });
            session.Store(new TurnView { Id = TurnView.IdOf("gone", 1), ConversationId = "gone", Index = 1, TurnId = "x", Content = "stale" });
            await session.SaveChangesAsync();
        }
        await service.DisposeAsync();

        var (exitCode, output) = await RunServiceCommandAsync(database, "projections", "rebuild");

        Assert.True(exitCode == 0, output);
        foreach (var name in new[] { ConversationProjection.ProjectionName, KnowledgeProjection.ProjectionName, ExampleProjection.ProjectionName })
        {
            Assert.Contains($"Finished rebuilding {name}", output, StringComparison.Ordinal);
        }
        var rebuilt = host.Start(new Dictionary<string, string?> { ["EventStore:RunDaemon"] = "false" });
        Assert.Equal(live, await SnapshotAsync(rebuilt));
        var rebuiltApi = await ReadThroughTheApiAsync(rebuilt);
        foreach (var (key, expected) in liveApi)
        {
            Json.AssertEquivalent(expected, rebuiltApi[key], key);
        }
        // The deleted conversation's events are all still there, erased.
        var gone = await database.QueryAsync(
            "SELECT data::text FROM conversations.mt_events WHERE tenant_id = 'tenant-a' AND stream_id = 'gone'", r => r.GetString(0));
        Assert.Equal(5, gone.Count);
        Assert.DoesNotContain(gone, data => data.Contains("PIN", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Given_the_embedding_model_was_switched_When_readiness_is_probed_Then_the_old_models_progress_left_behind_is_not_a_problem()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var host = new StorageHost(database);
        // The daemon runs, so the shards of this configuration keep up; one event behind would already be too many.
        var service = host.Start(new Dictionary<string, string?> { ["EventStore:MaxLagEvents"] = "1" });
        using var client = StorageHost.Client(service, "tenant-a");
        await SendAsync(client, HttpMethod.Post, "/conversations/chat-1/turns", new { role = "user", content = "Hello?" });
        await SendAsync(client, HttpMethod.Post, "/conversations/chat-1/turns", new { role = "assistant", content = "Hi." });
        // What a model that is no longer configured leaves: progress behind the log, not moving for an hour.
        await database.ExecuteAsync(
            """
            INSERT INTO conversations.mt_event_progression (name, last_seq_id, last_updated)
            VALUES ('embeddings_text_embedding_3_small:All', 0, now() - interval '1 hour')
            ON CONFLICT (name) DO UPDATE SET last_seq_id = excluded.last_seq_id, last_updated = excluded.last_updated
            """);

        string? eventStore = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (eventStore != "Healthy" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            var (status, body) = await StorageHost.GetAsync(client, "/health/ready");
            Assert.Equal(HttpStatusCode.OK, status);
            eventStore = body!["checks"]!["eventstore"]!["status"]!.GetValue<string>();
        }

        Assert.Equal("Healthy", eventStore);
    }

    [Fact]
    public async Task Given_a_replica_running_the_daemon_When_projections_are_rebuilt_Then_the_command_refuses_naming_what_to_stop()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var host = new StorageHost(database);
        var service = host.Start();
        using var client = StorageHost.Client(service, "tenant-a");
        await SendAsync(client, HttpMethod.Post, "/conversations/chat-1/turns", new { role = "user", content = "Hello?" });
        // The daemon holds an advisory lock per shard once it took them over (HotCold).
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline && await HeldAdvisoryLocksAsync(database) == 0;)
        {
            await Task.Delay(100);
        }

        var (exitCode, output) = await RunServiceCommandAsync(database, "projections", "rebuild");

        Assert.True(exitCode != 0, output);
        Assert.Contains("Not rebuilding: a replica of the service is running on this database", output, StringComparison.Ordinal);
        Assert.Contains("Stop every replica", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Finished rebuilding", output, StringComparison.Ordinal);
    }

    private static async Task<long> HeldAdvisoryLocksAsync(TestDatabase database) => (await database.QueryAsync(
        """
        SELECT count(*) FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """, r => r.GetInt64(0)))[0];

    private static async Task WriteThroughTheApiAsync(WebApplicationFactory<Program> service)
    {
        using var a = StorageHost.Client(service, "tenant-a");
        using var b = StorageHost.Client(service, "tenant-b");
        await SendAsync(a, HttpMethod.Put, "/conversations/chat-1",
            new { systemPrompt = "You are a travel agent.", model = "gpt-4o-mini", metadata = new { channel = "app" } });
        await SendAsync(a, HttpMethod.Post, "/conversations/chat-1/turns", new
        {
            turns = new object[]
            {
                new { id = "u1", role = "user", content = "I want to visit Lisbon in May with my two children.", occurredAt = "2026-05-01T09:30:00.1234567+02:00" },
                new { id = "a1", role = "assistant", content = "Lovely! Do you prefer the city centre or the coast near Cascais?" },
            },
        });
        await SendAsync(a, HttpMethod.Post, "/conversations/chat-1/turns",
            new { role = "user", content = "The coast, and we need a hotel with a pool.", metadata = new { device = "phone" } });
        await SendAsync(a, HttpMethod.Post, "/conversations/chat-1/turns",
            new { role = "tool", name = "hotels", content = "[\"Hotel Baia\",\"Farol Hotel\",\"Pestana Cidadela\"]" });
        await WaitForSummaryAsync(a, "chat-1");
        await SendAsync(a, HttpMethod.Put, "/conversations/chat-1", new { model = "gpt-4o" });
        await SendAsync(a, HttpMethod.Post, "/conversations/chat-1/turns", new { role = "assistant", content = "Hotel Baia has a pool and is by the beach." });
        await SendAsync(a, HttpMethod.Post, "/conversations/chat-2/turns", new { role = "user", content = "Hello?" });
        await SendAsync(a, HttpMethod.Post, "/conversations/gone/turns", new
        {
            turns = new object[]
            {
                new { role = "user", content = "Remember my PIN 4321 and my account 12345678 for the booking." },
                new { role = "assistant", content = "I cannot keep a PIN; please never share it. Let us continue without it." },
                new { role = "user", content = "Fine, then book the Lisbon trip for the first week of May for three." },
            },
        });
        await WaitForSummaryAsync(a, "gone");
        await SendAsync(a, HttpMethod.Delete, "/conversations/gone");
        await SendAsync(a, HttpMethod.Put, "/collections/manuals/documents/setup", new { text = "Connect the router to the modem." });
        await SendAsync(a, HttpMethod.Put, "/collections/manuals/documents/old", new { text = "An old manual." });
        await SendAsync(a, HttpMethod.Put, "/collections/manuals/documents/setup",
            new { text = "Connect the router to the modem and follow the wizard.", metadata = new { rev = 2 } });
        await SendAsync(a, HttpMethod.Delete, "/collections/manuals/documents/old");
        await SendAsync(a, HttpMethod.Put, "/examples/greet", new { input = "hi", output = "Hello!" });
        await SendAsync(a, HttpMethod.Put, "/examples/bye", new { input = "bye", output = "Goodbye!" });
        await SendAsync(a, HttpMethod.Put, "/examples/greet", new { input = "hi there", output = "Hello there!", task = "chat" });
        await SendAsync(a, HttpMethod.Delete, "/examples/bye");
        await SendAsync(b, HttpMethod.Post, "/conversations/chat-1/turns", new { id = "u1", role = "user", content = "Tenant B asks something else." });
        await SendAsync(b, HttpMethod.Put, "/collections/manuals/documents/setup", new { text = "Tenant B's own setup." });
        await SendAsync(b, HttpMethod.Put, "/examples/greet", new { input = "hey", output = "Hi from B." });
    }

    private static async Task SendAsync(HttpClient client, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body, body.GetType()) };
        using var response = await client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task WaitForSummaryAsync(HttpClient client, string conversation)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline; await Task.Delay(100))
        {
            var (_, body) = await StorageHost.GetAsync(client, $"/conversations/{conversation}");
            if (body?["summary"] is not null)
            {
                return;
            }
        }
        Assert.Fail($"{conversation} was not summarized");
    }

    /// <summary>Every document the projections own, by tenant, type and id; change markers by id only (a rebuild moves them).</summary>
    private static async Task<string> SnapshotAsync(WebApplicationFactory<Program> service)
    {
        var store = StorageHost.Service<IDocumentStore>(service);
        var snapshot = new JsonObject();
        foreach (var tenant in Tenants)
        {
            await using var session = store.QuerySession(tenant);
            snapshot[tenant] = new JsonObject
            {
                ["conversations"] = Serialize((await session.Query<ConversationView>().ToListAsync()).OrderBy(d => d.Id, StringComparer.Ordinal)),
                ["turns"] = Serialize((await session.Query<TurnView>().ToListAsync()).OrderBy(d => d.Id, StringComparer.Ordinal)),
                ["documents"] = Serialize((await session.Query<KnowledgeDocument>().ToListAsync()).OrderBy(d => d.Id, StringComparer.Ordinal)),
                ["collections"] = Serialize((await session.Query<KnowledgeCollection>().ToListAsync()).Select(d => d.Id).Order(StringComparer.Ordinal)),
                ["examples"] = Serialize((await session.Query<ExampleView>().ToListAsync()).OrderBy(d => d.Id, StringComparer.Ordinal)),
                ["libraries"] = Serialize((await session.Query<ExampleLibrary>().ToListAsync()).Select(d => d.Id).Order(StringComparer.Ordinal)),
            };
        }
        return snapshot.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

        static JsonNode? Serialize<T>(IEnumerable<T> documents) => JsonSerializer.SerializeToNode(documents.ToList(), JsonSerializerOptions.Web);
    }

    private static async Task<Dictionary<string, JsonNode?>> ReadThroughTheApiAsync(WebApplicationFactory<Program> service)
    {
        var replies = new Dictionary<string, JsonNode?>();
        foreach (var tenant in Tenants)
        {
            using var client = StorageHost.Client(service, tenant);
            foreach (var path in ApiPaths)
            {
                var (status, body) = await StorageHost.GetAsync(client, path);
                replies[$"{tenant} {path}"] = status == HttpStatusCode.OK ? body : JsonValue.Create((int)status);
            }
        }
        Assert.Equal(404, replies["tenant-a /conversations/gone"]!.GetValue<int>());
        return replies;
    }

    /// <summary>
    /// The service's own executable with a command, as an operator runs it (README, "Operations"): a process of its
    /// own, configured through the environment.
    /// </summary>
    private static async Task<(int ExitCode, string Output)> RunServiceCommandAsync(TestDatabase database, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ConversationService.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["ConnectionStrings__Postgres"] = database.ConnectionString;
        start.Environment["ConnectionStrings__RabbitMq"] = StorageHost.RabbitMq;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await errors);
    }
}
