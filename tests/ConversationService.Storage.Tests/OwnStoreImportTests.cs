using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConversationService.Embeddings;
using ConversationService.Storage.Tests.Infrastructure;
using ConversationService.Summaries;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using Marten;
using MassTransit;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;
using Contracts = ConversationService.Contracts;

namespace ConversationService.Storage.Tests;

/// <summary>
/// A database written by the service's own earlier event store (OwnStore/own-store.sql, made by OwnStore/generate.sh
/// through that version's HTTP API: two tenants, conversations with client turn ids and explicit times, summaries, a
/// deleted conversation whose content was erased, replaced and deleted documents and examples) is imported into Marten
/// when today's service first starts on it.
/// </summary>
public sealed class OwnStoreImportTests
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "OwnStore");

    private static readonly Dictionary<string, string?> NoDaemon = new() { ["EventStore:RunDaemon"] = "false" };

    /// <summary>The own store's last event (and its daemon's checkpoints) in the fixture.</summary>
    private const long LastSequence = 35;

    [Fact]
    public async Task Given_a_database_of_the_own_store_When_the_service_starts_Then_the_api_answers_as_before()
    {
        await using var database = await RestoredAsync();
        await using var host = new StorageHost(database);

        var service = host.Start(NoDaemon);

        foreach (var expected in JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Fixture, "expected.json")))!.AsArray())
        {
            var (tenant, path) = (expected!["tenant"]!.GetValue<string>(), expected["path"]!.GetValue<string>());
            using var client = StorageHost.Client(service, tenant);
            var (status, body) = await StorageHost.GetAsync(client, path);
            Assert.True((int)status == expected["status"]!.GetValue<int>(), $"{tenant} {path}: {(int)status}");
            Json.AssertEquivalent(expected["body"], body, $"{tenant} {path}", allowAddedFields: true);
        }
    }

    [Fact]
    public async Task Given_a_database_of_the_own_store_When_it_is_imported_Then_every_event_keeps_its_sequence_id_stream_version_type_time_and_data()
    {
        await using var database = await RestoredAsync();
        var before = await OwnStoreEventsAsync(database);
        await using var host = new StorageHost(database);

        var store = StorageHost.Service<IDocumentStore>(host.Start(NoDaemon));

        await using var session = store.QuerySession();
        var imported = await session.Events.QueryAllRawEvents().Where(e => e.AnyTenant()).OrderBy(e => e.Sequence).ToListAsync();
        Assert.Equal(before.Count, imported.Count);
        foreach (var (own, marten) in before.Zip(imported))
        {
            Assert.Equal(own.Sequence, marten.Sequence);
            Assert.Equal(own.Id, marten.Id);
            Assert.Equal(own.Tenant, marten.TenantId);
            Assert.Equal(own.Stream, marten.StreamKey);
            Assert.Equal(own.Version, marten.Version);
            Assert.Equal(own.Type, marten.EventTypeName);
            Assert.Equal(own.Timestamp, marten.Timestamp);
            // The same record, whatever the serializer's spelling: both read back and written with the own store's options.
            var ownData = JsonSerializer.Deserialize(own.Data, marten.EventType, JsonSerializerOptions.Web);
            Assert.Equal(JsonSerializer.Serialize(ownData, JsonSerializerOptions.Web), JsonSerializer.Serialize(marten.Data, JsonSerializerOptions.Web));
        }
        // Every stream ends where it ended: Marten's stream version is the version of its last event.
        foreach (var stream in before.GroupBy(e => (e.Tenant, e.Stream)))
        {
            await using var tenant = store.QuerySession(stream.Key.Tenant);
            Assert.Equal(stream.Max(e => e.Version), (await tenant.Events.FetchStreamStateAsync(stream.Key.Stream))!.Version);
        }
        // The deleted conversation's content stays erased.
        Assert.All(imported.Where(e => e.StreamKey == "secret-1" && e.Data is Conversations.TurnAppended),
            e => Assert.Equal("", ((Conversations.TurnAppended)e.Data).Content));
    }

    [Fact]
    public async Task Given_a_database_of_the_own_store_When_it_is_imported_Then_the_documents_hold_what_its_read_model_tables_held()
    {
        await using var database = await RestoredAsync();
        var own = new
        {
            Conversations = await database.QueryAsync(
                """
                SELECT tenant_id, id, version, model, system_prompt, metadata::text, turn_count, total_tokens, created_at, updated_at
                FROM conversations.conversations
                """,
                r => Row(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetString(3), Text(r, 4), JsonText(r, 5), r.GetInt32(6),
                    r.GetInt64(7), r.GetFieldValue<DateTimeOffset>(8), r.GetFieldValue<DateTimeOffset>(9))),
            Turns = await database.QueryAsync(
                """
                SELECT tenant_id, conversation_id, idx, turn_id, role, content, name, occurred_at, tokens, encoding, version, metadata::text
                FROM conversations.turns
                """,
                r => Row(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetString(5), Text(r, 6),
                    r.GetFieldValue<DateTimeOffset>(7), r.GetInt32(8), r.GetString(9), r.GetInt64(10), JsonText(r, 11))),
            Summaries = await database.QueryAsync(
                """
                SELECT s.tenant_id, s.conversation_id, s.through_index, s.summary, s.summary_tokens, s.encoding
                FROM conversations.conversation_summaries s
                JOIN conversations.conversations c ON c.tenant_id = s.tenant_id AND c.id = s.conversation_id
                """,
                r => Row(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetString(3), r.GetInt32(4), r.GetString(5))),
            Documents = await database.QueryAsync(
                """
                SELECT d.tenant_id, d.collection, d.document_id, d.text, d.metadata::text, d.tokens, d.version, d.created_at,
                       d.updated_at, (SELECT string_agg(c.n || ':' || c.tokens || ':' || c.text, '|' ORDER BY c.n)
                                      FROM conversations.knowledge_chunks c WHERE c.tenant_id = d.tenant_id
                                      AND c.collection = d.collection AND c.document_id = d.document_id)
                FROM conversations.knowledge_documents d
                """,
                r => Row(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), JsonText(r, 4), r.GetInt32(5), r.GetInt64(6),
                    r.GetFieldValue<DateTimeOffset>(7), r.GetFieldValue<DateTimeOffset>(8), r.GetString(9))),
            Examples = await database.QueryAsync(
                "SELECT tenant_id, id, input, output, task, version, created_at, updated_at FROM conversations.examples",
                r => Row(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), Text(r, 4), r.GetInt64(5),
                    r.GetFieldValue<DateTimeOffset>(6), r.GetFieldValue<DateTimeOffset>(7))),
        };
        await using var host = new StorageHost(database);

        var store = StorageHost.Service<IDocumentStore>(host.Start(NoDaemon));

        var marten = new
        {
            Conversations = new List<string>(), Turns = new List<string>(), Summaries = new List<string>(),
            Documents = new List<string>(), Examples = new List<string>(),
        };
        foreach (var tenant in new[] { "tenant-a", "tenant-b" })
        {
            await using var session = store.QuerySession(tenant);
            foreach (var c in await session.Query<Conversations.ConversationView>().ToListAsync())
            {
                marten.Conversations.Add(Row(tenant, c.Id, c.Version, c.Model, c.SystemPrompt, SortedJson(c.Metadata), c.TurnCount,
                    c.TotalTokens, c.CreatedAt, c.UpdatedAt));
                if (c.Summary is { } summary)
                {
                    marten.Summaries.Add(Row(tenant, c.Id, summary.ThroughIndex, summary.Text, summary.Tokens, summary.Encoding));
                }
            }
            marten.Turns.AddRange((await session.Query<Conversations.TurnView>().ToListAsync()).Select(t => Row(tenant,
                t.ConversationId, t.Index, t.TurnId, t.Role, t.Content, t.Name, t.OccurredAt, t.Tokens, t.Encoding, t.Version,
                SortedJson(t.Metadata))));
            marten.Documents.AddRange((await session.Query<Knowledge.KnowledgeDocument>().ToListAsync()).Select(d => Row(tenant,
                d.Collection, d.DocumentId, d.Text, SortedJson(d.Metadata), d.Tokens, d.Version, d.CreatedAt, d.UpdatedAt,
                string.Join('|', d.ToChunks().Select((c, i) => $"{i + 1}:{c.Tokens}:{c.Text}")))));
            marten.Examples.AddRange((await session.Query<Examples.ExampleView>().ToListAsync()).Select(x => Row(tenant,
                x.Id, x.Input, x.Output, x.Task, x.Version, x.CreatedAt, x.UpdatedAt)));
        }
        Assert.All(new[] { own.Conversations, own.Turns, own.Summaries, own.Documents, own.Examples }, Assert.NotEmpty);
        Assert.Equal(own.Conversations.Order(), marten.Conversations.Order());
        Assert.Equal(own.Turns.Order(), marten.Turns.Order());
        Assert.Equal(own.Summaries.Order(), marten.Summaries.Order());
        Assert.Equal(own.Documents.Order(), marten.Documents.Order());
        Assert.Equal(own.Examples.Order(), marten.Examples.Order());
    }

    /// <summary>
    /// One row as text, times to the microsecond (what the own store's timestamptz columns kept) and JSON re-serialized
    /// (jsonb reorders keys).
    /// </summary>
    private static string Row(params object?[] values) => string.Join(" | ", values.Select(v => v switch
    {
        null => "null",
        DateTimeOffset t => t.AddTicks(-(t.Ticks % 10)).UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => v.ToString(),
    }));

    private static string? Text(NpgsqlDataReader row, int column) => row.IsDBNull(column) ? null : row.GetString(column);

    private static string? JsonText(NpgsqlDataReader row, int column) =>
        row.IsDBNull(column) ? null : SortedJson(JsonSerializer.Deserialize<JsonElement>(row.GetString(column)));

    /// <summary>Objects with their keys in ordinal order, so jsonb's order and the serializer's compare equal.</summary>
    private static string? SortedJson(JsonElement? element) => element is { } e ? Sorted(JsonNode.Parse(e.GetRawText()))?.ToJsonString() : null;

    private static JsonNode? Sorted(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, Sorted(p.Value?.DeepClone())))),
        JsonArray a => new JsonArray([.. a.Select(i => Sorted(i?.DeepClone()))]),
        _ => node?.DeepClone(),
    };

    [Fact]
    public async Task Given_a_database_of_the_own_store_When_it_is_imported_Then_the_subscriptions_continue_from_its_checkpoints_and_pending_summaries()
    {
        await using var database = await RestoredAsync();
        await using var host = new StorageHost(database);

        var store = StorageHost.Service<IDocumentStore>(host.Start(NoDaemon));

        var progress = (await store.Advanced.AllProjectionProgress()).ToDictionary(p => p.ShardName, p => p.Sequence);
        Assert.Equal(LastSequence, progress["integration_events:All"]);
        Assert.Equal(LastSequence, progress["summary_trigger:All"]);
        var requested = await database.QueryAsync(
            "SELECT tenant_id, conversation_id, through_index FROM conversations.summary_requests",
            r => (Tenant: r.GetString(0), Conversation: r.GetString(1), Through: r.GetInt32(2)));
        Assert.NotEmpty(requested);
        foreach (var (tenant, conversation, through) in requested)
        {
            await using var session = store.QuerySession(tenant);
            Assert.Equal(through, (await session.LoadAsync<PendingSummary>(conversation))!.ThroughIndex);
        }
    }

    [Fact]
    public async Task Given_an_imported_database_When_the_service_starts_again_Then_nothing_is_imported_twice_and_the_own_store_stays_read_only()
    {
        await using var database = await RestoredAsync();
        await using var host = new StorageHost(database);
        var first = host.Start(NoDaemon);
        var marker = await LoadMarkerAsync(first);
        var documents = await CountDocumentsAsync(database);
        await first.DisposeAsync();

        var again = host.Start(NoDaemon);

        Assert.Null(await StorageHost.Service<OwnStoreImport>(again).ImportIfNeededAsync(CancellationToken.None));
        Assert.Equal(LastSequence, marker.Events);
        Assert.Equal(LastSequence, marker.LastSequence);
        Assert.Equal(2, marker.Tenants);
        Assert.Equal(marker.ImportedAt, (await LoadMarkerAsync(again)).ImportedAt);
        Assert.Equal(LastSequence, (await StorageHost.Service<IDocumentStore>(again).Advanced.FetchEventStoreStatistics()).EventCount);
        Assert.Equal(documents, await CountDocumentsAsync(database));
        // A replica of the earlier version still running would fail instead of writing where nobody reads.
        var refused = await Assert.ThrowsAsync<PostgresException>(() => database.ExecuteAsync(
            "UPDATE conversations.streams SET version = version + 1 WHERE tenant_id = 'tenant-a' AND id = 'support-1'"));
        Assert.Contains("imported into Marten", refused.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_an_imported_database_When_clients_write_Then_versions_turn_ids_and_sequence_numbers_continue_from_the_own_store()
    {
        await using var database = await RestoredAsync();
        await using var host = new StorageHost(database);
        var service = host.Start(NoDaemon);
        using var client = StorageHost.Client(service, "tenant-a");

        // A retry of a turn the earlier version stored returns its original result and stores nothing.
        var retried = await PostTurnAsync(client, "support-1", new { id = "t-7", role = "user", content = "Update: it held all evening, thanks!" });
        // If-Match with the version the earlier version gave.
        var appended = await PostTurnAsync(client, "support-1", new { id = "t-8", role = "assistant", content = "Glad to hear it!" }, "\"9\"");
        var stale = await PostTurnAsync(client, "support-1", new { role = "user", content = "Again?" }, "\"9\"");

        Assert.Equal((HttpStatusCode.Created, 9L, 7), (retried.Status, retried.Version, retried.Index));
        Assert.Equal((HttpStatusCode.Created, 10L, 8), (appended.Status, appended.Version, appended.Index));
        Assert.Equal(HttpStatusCode.Conflict, stale.Status);
        await using var session = StorageHost.Service<IDocumentStore>(service).QuerySession("tenant-a");
        var last = await session.Events.FetchStreamAsync("support-1", 10);
        Assert.True(last.Single(e => e.Version == 10).Sequence > LastSequence);
    }

    private static async Task<(HttpStatusCode Status, long Version, int Index)> PostTurnAsync(
        HttpClient client, string conversation, object turn, string? ifMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/conversations/{conversation}/turns")
        {
            Content = System.Net.Http.Json.JsonContent.Create(turn, turn.GetType()),
        };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        using var response = await client.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            return (response.StatusCode, 0, 0);
        }
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return (response.StatusCode, body["version"]!.GetValue<long>(), body["turns"]![0]!["index"]!.GetValue<int>());
    }

    [Fact]
    public async Task Given_an_import_that_stopped_after_one_tenant_When_the_service_starts_again_Then_it_completes_the_import()
    {
        await using var database = await RestoredAsync();
        await using var host = new StorageHost(database);
        await host.Start(NoDaemon).DisposeAsync();
        // What an import that stopped after copying tenant-a leaves: its events, no documents, no marker.
        await database.ExecuteAsync(
            """
            DELETE FROM conversations.mt_events WHERE tenant_id = 'tenant-b';
            DELETE FROM conversations.mt_streams WHERE tenant_id = 'tenant-b';
            DELETE FROM conversations.mt_doc_ownstoreimported;
            TRUNCATE conversations.mt_doc_conversationview, conversations.mt_doc_turnview;
            DROP FUNCTION conversations.own_store_imported() CASCADE;
            """);

        var service = host.Start(NoDaemon);

        Assert.Equal(LastSequence, (await LoadMarkerAsync(service)).Events);
        Assert.Equal(LastSequence, (await StorageHost.Service<IDocumentStore>(service).Advanced.FetchEventStoreStatistics()).EventCount);
        foreach (var tenant in new[] { "tenant-a", "tenant-b" })
        {
            using var client = StorageHost.Client(service, tenant);
            Assert.Equal(HttpStatusCode.OK, (await StorageHost.GetAsync(client, "/conversations/support-1")).Status);
        }
    }

    [Fact]
    public async Task Given_marten_already_holds_other_events_When_an_own_store_is_found_Then_the_service_refuses_to_start_instead_of_renumbering()
    {
        await using var database = await RestoredAsync();
        await using var host = new StorageHost(database);
        var service = host.Start(NoDaemon);
        using (var client = StorageHost.Client(service, "tenant-a"))
        {
            Assert.Equal((HttpStatusCode.Created, 10L, 8),
                await PostTurnAsync(client, "support-1", new { role = "user", content = "Written on Marten." }));
        }
        await service.DisposeAsync();
        await database.ExecuteAsync("DELETE FROM conversations.mt_doc_ownstoreimported");

        var refused = await Record.ExceptionAsync(() => Task.Run(() => host.Start(NoDaemon)));

        Assert.NotNull(refused);
        Assert.Contains("already holds events that did not come from the own event store", refused.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Given_a_database_of_the_own_store_When_two_replicas_start_at_once_Then_one_imports_and_both_serve_it()
    {
        await using var database = await RestoredAsync();
        await using var host = new StorageHost(database);
        var replicas = new[] { host.Create(NoDaemon), host.Create(NoDaemon) };

        await Task.WhenAll(replicas.Select(replica => Task.Run(() => replica.Server)));

        Assert.Equal(LastSequence, (await StorageHost.Service<IDocumentStore>(replicas[0]).Advanced.FetchEventStoreStatistics()).EventCount);
        foreach (var replica in replicas)
        {
            using var client = StorageHost.Client(replica, "tenant-a");
            var (_, conversation) = await StorageHost.GetAsync(client, "/conversations/support-1");
            Assert.Equal(7, conversation!["turnCount"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task Given_the_own_daemon_had_published_part_of_the_log_When_the_service_runs_Then_the_publisher_sends_exactly_the_rest()
    {
        await using var database = await RestoredAsync();
        const long published = 15;
        await database.ExecuteAsync("UPDATE conversations.progression SET last_seq_id = $1 WHERE name = 'integration_events'", published);
        var events = await OwnStoreEventsAsync(database);
        var conversations = events.Select(e => e.Stream).Where(s => !s.Contains('/', StringComparison.Ordinal))
            .Concat(["support-1", "secret-1"]).ToHashSet();
        // Conversation events after the checkpoint; documents and examples are not part of the contract.
        var expected = events.Where(e => e.Sequence > published && !e.Stream.StartsWith("knowledge/", StringComparison.Ordinal)
                                         && !e.Stream.StartsWith("example/", StringComparison.Ordinal))
            .Select(e => e.Sequence).ToList();
        await using var subscriber = await Subscriber.StartAsync(m => m.Tenant is "tenant-a" or "tenant-b"
                                                                      && conversations.Contains(m.ConversationId)
                                                                      && events.Any(e => e.Sequence == m.Sequence && e.Tenant == m.Tenant));
        await using var host = new StorageHost(database);

        host.Start();

        var received = await subscriber.WaitForAsync(r => r.Count >= expected.Count, TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(1)); // anything republished would arrive by now
        Assert.Equal(expected, subscriber.Received.Select(m => m.Sequence).Order().ToList());
        Assert.Equal(expected.Count, received.Count);
    }

    [Fact]
    public async Task Given_the_own_store_had_embeddings_and_parked_events_When_it_is_imported_Then_the_vectors_refs_checkpoint_and_dead_letters_carry_over()
    {
        await using var database = await RestoredAsync();
        // The own store's embedding tables (its EmbeddingProjection.Ddl) with one vector held by one turn, its checkpoint,
        // and an event its publisher parked.
        await database.ExecuteAsync(
            """
            CREATE TABLE conversations.embeddings (tenant_id text NOT NULL, model text NOT NULL, content_hash bytea NOT NULL,
                vector bytea NOT NULL, created_at timestamptz NOT NULL, PRIMARY KEY (tenant_id, model, content_hash));
            CREATE TABLE conversations.embedding_refs (tenant_id text NOT NULL, source text NOT NULL, content_hash bytea NOT NULL,
                PRIMARY KEY (tenant_id, source, content_hash));
            INSERT INTO conversations.progression VALUES ('embeddings/text-embedding-3-small', 35, now());
            INSERT INTO conversations.dead_letters VALUES ('integration_events', 12, gen_random_uuid(), 'tenant-a', 'support-2', 2,
                'turn_appended', 'System.InvalidOperationException', 'poison', 5, '2026-11-02T10:00:00Z', NULL);
            """);
        var hash = EmbeddingStore.Hash("Answer briefly.");
        await database.ExecuteAsync(
            "INSERT INTO conversations.embeddings VALUES ('tenant-a', 'text-embedding-3-small', $1, $2, '2026-11-02T10:00:00Z')",
            hash, new byte[] { 0, 0, 128, 63, 0, 0, 0, 64 }); // 1f, 2f as little-endian float32
        await database.ExecuteAsync("INSERT INTO conversations.embedding_refs VALUES ('tenant-a', 'conversation/support-2', $1)", hash);
        await using var host = new StorageHost(database);

        var store = StorageHost.Service<IDocumentStore>(host.Start(new Dictionary<string, string?>(NoDaemon)
        {
            ["Embeddings:Provider"] = "openai",
            ["Llm:ApiKey"] = "not-used",
            ["Llm:Endpoint"] = "http://127.0.0.1:9/v1",
        }));

        await using var session = store.QuerySession("tenant-a");
        var vector = await session.LoadAsync<EmbeddingVector>(EmbeddingVector.IdOf("text-embedding-3-small", hash));
        Assert.Equal([1f, 2f], vector!.Vector);
        Assert.NotNull(await session.LoadAsync<EmbeddingRef>(EmbeddingRef.IdOf("conversation/support-2", Convert.ToHexString(hash))));
        var progress = (await store.Advanced.AllProjectionProgress()).ToDictionary(p => p.ShardName, p => p.Sequence);
        Assert.Equal(LastSequence, progress[$"{EmbeddingProjection.ShardNameOf("text-embedding-3-small")}:All"]);
        var parked = await session.Query<DeadLetterEvent>().Where(d => d.AnyTenant()).ToListAsync();
        Assert.Equal(12, Assert.Single(parked).EventSequence);
    }

    private sealed record OwnEvent(
        long Sequence, Guid Id, string Tenant, string Stream, long Version, string Type, string Data, DateTimeOffset Timestamp);

    private static Task<List<OwnEvent>> OwnStoreEventsAsync(TestDatabase database) => database.QueryAsync(
        """SELECT seq_id, id, tenant_id, stream_id, version, type, data::text, "timestamp" FROM conversations.events ORDER BY seq_id""",
        r => new OwnEvent(r.GetInt64(0), r.GetGuid(1), r.GetString(2), r.GetString(3), r.GetInt64(4), r.GetString(5),
            r.GetString(6), r.GetFieldValue<DateTimeOffset>(7)));

    private static async Task<long> CountDocumentsAsync(TestDatabase database)
    {
        var tables = await database.QueryAsync(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'conversations' AND table_name LIKE 'mt_doc_%'",
            r => r.GetString(0));
        var counts = await database.QueryAsync(
            string.Join(" UNION ALL ", tables.Select(t => $"SELECT count(*) FROM conversations.{t}")), r => r.GetInt64(0));
        return counts.Sum();
    }

    private static async Task<OwnStoreImported> LoadMarkerAsync(WebApplicationFactory<Program> service)
    {
        await using var session = StorageHost.Service<IDocumentStore>(service).QuerySession();
        return (await session.LoadAsync<OwnStoreImported>(OwnStoreImported.Key))!;
    }

    private static async Task<TestDatabase> RestoredAsync()
    {
        var database = await TestDatabase.CreateAsync();
        await database.ExecuteAsync(await File.ReadAllTextAsync(Path.Combine(Fixture, "own-store.sql")));
        return database;
    }

    /// <summary>A subscriber of the integration events with a queue of its own, deleted when it stops.</summary>
    private sealed class Subscriber : IAsyncDisposable
    {
        private readonly IBusControl _bus;
        private readonly ConcurrentQueue<Contracts.IConversationEvent> _received = new();

        private Subscriber(Func<Contracts.IConversationEvent, bool> wanted) =>
            _bus = Bus.Factory.CreateUsingRabbitMq(rabbit =>
            {
                rabbit.Host(new Uri(StorageHost.RabbitMq));
                rabbit.ReceiveEndpoint($"import-test-{Guid.NewGuid():N}", endpoint =>
                {
                    endpoint.AutoDelete = true;
                    endpoint.Durable = false;
                    endpoint.Handler<Contracts.ConversationStarted>(c => Keep(c.Message));
                    endpoint.Handler<Contracts.ConversationSettingsChanged>(c => Keep(c.Message));
                    endpoint.Handler<Contracts.TurnAppended>(c => Keep(c.Message));
                    endpoint.Handler<Contracts.ConversationSummarized>(c => Keep(c.Message));
                    endpoint.Handler<Contracts.ConversationDeleted>(c => Keep(c.Message));
                });

                Task Keep(Contracts.IConversationEvent message)
                {
                    if (wanted(message))
                    {
                        _received.Enqueue(message);
                    }
                    return Task.CompletedTask;
                }
            });

        public IReadOnlyList<Contracts.IConversationEvent> Received => [.. _received];

        public static async Task<Subscriber> StartAsync(Func<Contracts.IConversationEvent, bool> wanted)
        {
            var subscriber = new Subscriber(wanted);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await subscriber._bus.StartAsync(timeout.Token);
            return subscriber;
        }

        public async Task<IReadOnlyList<Contracts.IConversationEvent>> WaitForAsync(
            Func<IReadOnlyList<Contracts.IConversationEvent>, bool> done, TimeSpan within)
        {
            var deadline = DateTime.UtcNow + within;
            while (!done(Received) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            return Received;
        }

        public async ValueTask DisposeAsync() => await _bus.StopAsync();
    }
}
