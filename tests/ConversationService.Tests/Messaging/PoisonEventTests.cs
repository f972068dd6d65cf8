using System.Net;
using System.Text;
using ConversationService.Contracts;
using ConversationView = ConversationService.Conversations.ConversationView;
using ConversationService.Tests.Infrastructure;
using JasperFx.Events.Daemon;
using Marten;
using Marten.Patching;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ConversationService.Tests.Messaging;

/// <summary>A service of its own (its health is what the tests look at) that retries quickly and keeps its logs.</summary>
public sealed class PoisonFixture : MessagingFixture
{
    public LogSink Logs { get; } = new();

    // The parking (Marten's daemon and the publisher) and the bus's serialization fault are what the test provokes:
    // kept in Logs, off the console.
    protected override IReadOnlyDictionary<string, string?> Settings => ExpectedLogs.With(
        new Dictionary<string, string?>(),
        "Marten", "JasperFx", "ConversationService.Messaging", "MassTransit", "Microsoft.Extensions.Diagnostics.HealthChecks");

    protected override void Configure(IWebHostBuilder web) => web.ConfigureLogging(logging => logging.AddProvider(Logs));
}

[CollectionDefinition(Name)]
public sealed class PoisonCollection : ICollectionFixture<PoisonFixture>
{
    public const string Name = "poison";
}

[Collection(PoisonCollection.Name)]
public sealed class PoisonEventTests(PoisonFixture fixture)
{
    [Fact]
    public async Task Given_events_that_cannot_be_read_or_published_When_the_daemon_reaches_them_Then_they_are_parked_and_every_other_tenant_and_stream_is_published_and_ready_says_Degraded()
    {
        var (a, b, p) = (ApiClient.NewId(), ApiClient.NewId(), ApiClient.NewId());
        await using var subscriber = await TestSubscriber.StartAsync(id => id == a || id == b || id == p);
        using var tenantA = fixture.Client();
        using var tenantB = fixture.Client(apiKey: ServiceFixture.TenantBKey);
        (await tenantA.AppendTurnAsync(p, "user", "before")).Expect(HttpStatusCode.Created);

        // Made in the store directly, as a bug or an input check missed in an older version would have stored them:
        // a turn whose data does not fit its type, and one whose metadata the reader takes but the bus cannot serialize.
        var (unreadable, unpublishable) = await StorePoisonAsync(tenant: "tenant-a", conversation: p);
        (await tenantA.AppendTurnAsync(a, "user", "after in tenant a")).Expect(HttpStatusCode.Created);
        (await tenantB.AppendTurnAsync(b, "user", "after in tenant b")).Expect(HttpStatusCode.Created);
        (await tenantA.AppendTurnAsync(p, "user", "after in the same conversation")).Expect(HttpStatusCode.Created);

        // At least once: a batch retried while the poison is isolated may deliver "before" again, so wait for each turn.
        var received = await subscriber.WaitForAsync<TurnAppended>(
            r => r.Select(t => t.Content).Distinct().Count() >= 4, TimeSpan.FromSeconds(60));

        Assert.Equal(["after in tenant a"], received.Where(t => t.ConversationId == a).Select(t => t.Content).Distinct());
        Assert.Equal(["after in tenant b"], received.Where(t => t.ConversationId == b).Select(t => t.Content).Distinct());
        // The conversation's later turn is published after the parked ones, in order.
        Assert.Equal(["before", "after in the same conversation"], received.Where(t => t.ConversationId == p).Select(t => t.Content).Distinct());
        // Each subscription parks on its own schedule: the summary trigger may reach the poison after the publisher did.
        var letters = await DeadLettersAsync();
        for (var waited = 0; letters.Count < 3 && waited < 300; waited++)
        {
            await Task.Delay(100);
            letters = await DeadLettersAsync();
        }
        Assert.Equal(
            [("integration_events", unreadable), ("integration_events", unpublishable), ("summary_trigger", unreadable)],
            letters.Select(l => (l.Projection, l.Sequence)).Order());
        Assert.All(letters, l => Assert.Equal(("tenant-a", p, "turn_appended"), (l.Tenant, l.Stream, l.Type)));
        // Marten's daemon parks what it cannot deserialize before any subscription sees it, once per subscription.
        Assert.All(letters.Where(l => l.Sequence == unreadable),
            l => Assert.Equal("Marten.Exceptions.EventDeserializationFailureException", l.ErrorType));
        Assert.Contains(fixture.Logs.Messages, m => m.Contains(
            $"Serialization exception of type JsonException occured whilst loading event at sequence {unreadable}", StringComparison.Ordinal));
        var unpublished = letters.Single(l => l.Sequence == unpublishable);
        Assert.Equal("System.Runtime.Serialization.SerializationException", unpublished.ErrorType);
        // The exception types only: their messages may quote content (see ParkedEventsTests).
        Assert.Equal(
            "System.Runtime.Serialization.SerializationException ---> System.Text.Json.JsonException ---> System.InvalidOperationException",
            unpublished.Error);
        Assert.DoesNotContain(letters, l => l.Error.Contains("secret", StringComparison.Ordinal));
        Assert.Contains(fixture.Logs.Messages, m => m.Contains($"parked event {unpublishable} (turn_appended", StringComparison.Ordinal));
        Assert.DoesNotContain(fixture.Logs.Messages, m => m.Contains("secret", StringComparison.Ordinal));

        using var anonymous = new ApiClient(fixture.Factory.CreateClient());
        var ready = (await anonymous.GetAsync("/health/ready")).Expect(HttpStatusCode.OK);
        Assert.Equal("Degraded", ready.Body["status"]!.GetValue<string>());
        Assert.Equal("Degraded", ready.Body["checks"]!["eventstore"]!["status"]!.GetValue<string>());
        var description = ready.Body["checks"]!["eventstore"]!["description"]!.GetValue<string>();
        Assert.Contains("integration_events: 2 parked event(s)", description);
        Assert.Contains("summary_trigger: 1 parked event(s)", description);
    }

    /// <summary>
    /// Two turns after the conversation's last event, written into Marten's tables as an older version would have
    /// stored them, with the stream and its document moved past them so appends go on after.
    /// </summary>
    private async Task<(long Unreadable, long Unpublishable)> StorePoisonAsync(string tenant, string conversation)
    {
        // 63 levels: the event store reads the turn (64 levels in all), the bus envelope around it is one too many.
        var nested = new StringBuilder();
        for (var i = 0; i < 63; i++)
        {
            nested.Append("{\"secret-key\":");
        }
        nested.Append("\"secret-value\"").Append('}', 63);
        const string turn = """
            "role":"user","content":"secret content","name":null,"occurredAt":"2025-01-01T00:00:00+00:00","tokens":3,"encoding":"o200k_base"
            """;
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            WITH s AS (UPDATE conversations.mt_streams SET version = version + 2 WHERE tenant_id = $1 AND id = $2 RETURNING version),
                 t AS (SELECT mt_dotnet_type FROM conversations.mt_events WHERE type = 'turn_appended' LIMIT 1)
            INSERT INTO conversations.mt_events (seq_id, id, tenant_id, stream_id, version, type, data, mt_dotnet_type, "timestamp")
            SELECT nextval('conversations.mt_events_sequence'), gen_random_uuid(), $1, $2, s.version - 2 + e.n, 'turn_appended', e.data::jsonb, t.mt_dotnet_type, now()
            FROM s, t, unnest(ARRAY[$3, $4]) WITH ORDINALITY AS e(data, n)
            ORDER BY e.n
            RETURNING seq_id
            """, connection);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = conversation });
        command.Parameters.Add(new() { Value = $$"""{"turnId":"x-1","index":"not a number",{{turn}},"metadata":null}""" });
        command.Parameters.Add(new() { Value = $$"""{"turnId":"x-2","index":99,{{turn}},"metadata":{{nested}}}""" });
        var sequences = new List<long>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                sequences.Add(reader.GetInt64(0));
            }
        }
        Assert.Equal(2, sequences.Count);
        // The inline projection keeps the document at the stream's version; these rows bypassed it.
        await using var session = fixture.Factory.Services.GetRequiredService<IDocumentStore>().LightweightSession(tenant);
        session.Patch<ConversationView>(conversation).Increment(v => v.Version, 2);
        await session.SaveChangesAsync();
        return (sequences[0], sequences[1]);
    }

    private sealed record DeadLetter(string Projection, long Sequence, string Tenant, string Stream, string Type, string ErrorType, string Error);

    /// <summary>Marten's dead letters, each with the stored event it names (read as rows: some cannot be deserialized).</summary>
    private async Task<List<DeadLetter>> DeadLettersAsync()
    {
        List<DeadLetterEvent> letters;
        await using (var session = fixture.Factory.Services.GetRequiredService<IDocumentStore>().QuerySession())
        {
            letters = [.. await session.Query<DeadLetterEvent>().Where(d => d.AnyTenant()).ToListAsync()];
        }
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT seq_id, tenant_id, stream_id, type FROM conversations.mt_events WHERE seq_id = ANY($1)", connection);
        command.Parameters.Add(new() { Value = letters.Select(l => l.EventSequence).ToArray() });
        var events = new Dictionary<long, (string Tenant, string Stream, string Type)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                events[reader.GetInt64(0)] = (reader.GetString(1), reader.GetString(2), reader.GetString(3));
            }
        }
        return [.. letters.Select(l => new DeadLetter(l.ProjectionName, l.EventSequence, events[l.EventSequence].Tenant,
            events[l.EventSequence].Stream, events[l.EventSequence].Type, l.ExceptionType, l.ExceptionMessage))];
    }
}
