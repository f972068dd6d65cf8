using System.Net;
using ConversationService.Storage;
using ConversationService.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ConversationService.Tests.Storage;

/// <summary>
/// What the store logs when PostgreSQL refuses a write the service expected it might: a replayed turn id (the unique
/// index is the final word on idempotency) and an append that lost a race for a version. Both are answered normally,
/// so nothing is logged above Debug, and no content ever reaches a log above Debug.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class StoreLoggingTests(ServiceFixture fixture)
{
    [Fact]
    public async Task Given_a_replayed_turn_id_and_racing_appends_When_PostgreSQL_refuses_them_Then_nothing_is_logged_above_Debug_and_no_content_at_all()
    {
        var sink = new LogSink();
        await using var factory = fixture.CreateFactory(new Dictionary<string, string?>())
            .WithWebHostBuilder(web => web.ConfigureLogging(logging => logging.AddProvider(sink)));
        using var http = factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", ServiceFixture.TenantAKey);
        using var api = new ApiClient(http);
        var id = ApiClient.NewId();
        var secret = "zebra" + Guid.NewGuid().ToString("N")[..12];

        var first = (await api.AppendTurnAsync(id, "user", $"The code word is {secret}.", "t-1")).Expect(HttpStatusCode.Created);
        var replay = (await api.AppendTurnAsync(id, "user", $"The code word is {secret}.", "t-1")).Expect(HttpStatusCode.Created);
        // Another replica moves the conversation, so this one's next append is decided at a stale version first.
        await fixture.OnAnotherReplicaAsync(other => other.AppendTurnAsync(id, "assistant", $"Noted, {secret}."));
        (await api.AppendTurnAsync(id, "user", $"Again {secret}.", "t-3")).Expect(HttpStatusCode.Created);
        var replays = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => api.AppendTurnAsync(id, "user", $"The code word is {secret}.", "t-1")));

        Assert.Equal(first.Text, replay.Text);
        Assert.All(replays, r => Assert.Equal(first.Text, r.Expect(HttpStatusCode.Created).Text));
        var stored = await fixture.StoredTurnIdsAsync(id);
        Assert.Equal(3, stored.Count);
        Assert.Equal(("t-1", "t-3"), (stored[0], stored[2]));
        Assert.DoesNotContain(sink.Messages, m => m.Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(sink.Messages, m => m.StartsWith("Marten", StringComparison.Ordinal));
    }
}

/// <summary>What <see cref="StoreLogger"/> writes above Debug when a command fails for a reason the service does not expect.</summary>
public sealed class StoreLoggerTests
{
    [Fact]
    public void Given_PostgreSQL_quoting_the_offending_value_When_a_command_fails_Then_above_Debug_only_the_SQL_type_and_SQLSTATE_are_logged()
    {
        var logger = new LevelLogger();
        using var command = new NpgsqlCommand("UPDATE conversations.mt_doc_turnview SET data = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = "my PIN is 4711" });
        var error = new PostgresException("invalid input syntax for type integer: \"my PIN is 4711\"", "ERROR", "ERROR", "22P02");

        new StoreLogger(logger).LogFailure(command, error);

        var warning = Assert.Single(logger.Lines, l => l.Level > LogLevel.Debug);
        Assert.DoesNotContain("PIN", warning.Text, StringComparison.Ordinal);
        Assert.Contains("Npgsql.PostgresException (SQLSTATE 22P02)", warning.Text, StringComparison.Ordinal);
        Assert.Contains("UPDATE conversations.mt_doc_turnview", warning.Text, StringComparison.Ordinal);
    }

    private sealed class LevelLogger : ILogger
    {
        public List<(LogLevel Level, string Text)> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) => Lines.Add((logLevel, $"{formatter(state, exception)} {exception}"));
    }
}
