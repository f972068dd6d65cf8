using System.Net;
using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Tests.Infrastructure;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using JasperFx.Events;
using Marten;
using Marten.Events;
using Npgsql;

namespace ConversationService.Tests.Hosting;

/// <summary>
/// Overload answers 503 with Retry-After as a problem, never 500, and loses or repeats nothing: every 201 is stored
/// exactly once, a 503 stored nothing, and its retry with the same turn id is stored once.
/// </summary>
[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class OverloadTests(ServiceFixture fixture)
{
    [Fact]
    public async Task Given_a_host_that_works_on_4_requests_and_queues_8_When_300_posts_arrive_at_once_Then_each_gets_201_or_503_with_Retry_After_and_each_201_is_stored_once()
    {
        await using var factory = fixture.CreateFactory(ExpectedLogs.With(
            new Dictionary<string, string?> { ["Overload:MaxConcurrentRequests"] = "4", ["Overload:QueueLimit"] = "8" },
            "ConversationService.Hosting"));
        using var api = Client(factory);
        var run = ApiClient.NewId("ov");
        var turns = Enumerable.Range(0, 300).Select(i => (Conversation: $"{run}-c{i % 30}", Id: $"{run}-t{i}")).ToArray();

        var replies = await Task.WhenAll(turns.Select(t => Task.Run(() => api.AppendTurnAsync(t.Conversation, "user", $"turn {t.Id}", t.Id))));

        Assert.All(replies, r => Assert.True(r.Status is HttpStatusCode.Created or HttpStatusCode.ServiceUnavailable,
            $"Expected 201 or 503 but got {(int)r.Status}: {r.Text}"));
        var refused = turns.Where((_, i) => replies[i].Status == HttpStatusCode.ServiceUnavailable).ToArray();
        Assert.NotEmpty(refused);
        Assert.All(replies.Where(r => r.Status == HttpStatusCode.ServiceUnavailable), ExpectRetryLater);
        var stored = await StoredAsync(run, turns.Select(t => t.Id));
        Assert.All(turns.Where((_, i) => replies[i].Status == HttpStatusCode.Created), t => Assert.Equal((1, 1), stored[t.Id]));
        Assert.All(refused, t => Assert.Equal((0, 0), stored[t.Id]));

        // A client that retries what got 503 (same turn id, one at a time) gets it stored, once.
        foreach (var t in refused)
        {
            (await api.AppendTurnAsync(t.Conversation, "user", $"turn {t.Id}", t.Id)).Expect(HttpStatusCode.Created);
        }
        stored = await StoredAsync(run, turns.Select(t => t.Id));
        Assert.All(turns, t => Assert.Equal((1, 1), stored[t.Id]));
    }

    [Fact]
    public async Task Given_every_pooled_connection_in_use_When_posts_arrive_Then_503_with_Retry_After_after_the_pool_timeout_nothing_is_stored_and_health_still_answers()
    {
        // The 503 warnings and the daemon's failed polls while the test holds every connection are what it provokes.
        await using var factory = fixture.CreateFactory(ExpectedLogs.With(
            new Dictionary<string, string?>
            {
                ["Postgres:MaxPoolSize"] = "8",
                ["Postgres:ConnectionTimeout"] = "00:00:01",
                // The fixture's host runs the projections; this replica's daemon would only try for their lock meanwhile.
                ["EventStore:RunDaemon"] = "false",
            },
            "ConversationService.Hosting.ProblemExceptionHandler", "ConversationService.Storage", "Marten"));
        using var api = Client(factory);
        using var anonymous = new ApiClient(factory.CreateClient());
        var held = await TakeEveryConnectionAsync(factory.Services.GetRequiredService<NpgsqlDataSource>());
        var run = ApiClient.NewId("pool");
        var turns = Enumerable.Range(0, 20).Select(i => (Conversation: $"{run}-c{i % 4}", Id: $"{run}-t{i}")).ToArray();
        Reply[] replies;
        try
        {
            Assert.InRange(held.Count, 1, 8);
            var posts = Task.WhenAll(turns.Select(t => Task.Run(() => api.AppendTurnAsync(t.Conversation, "user", $"turn {t.Id}", t.Id))));
            (await anonymous.GetAsync("/health/live")).Expect(HttpStatusCode.OK);
            replies = await posts;
        }
        finally
        {
            foreach (var connection in held)
            {
                await connection.DisposeAsync();
            }
        }

        Assert.All(replies, r => Assert.True(r.Status is HttpStatusCode.Created or HttpStatusCode.ServiceUnavailable,
            $"Expected 201 or 503 but got {(int)r.Status}: {r.Text}"));
        Assert.Contains(replies, r => r.Status == HttpStatusCode.ServiceUnavailable);
        Assert.All(replies.Where(r => r.Status == HttpStatusCode.ServiceUnavailable), ExpectRetryLater);
        var refused = turns.Where((_, i) => replies[i].Status == HttpStatusCode.ServiceUnavailable).ToArray();
        var stored = await StoredAsync(run, turns.Select(t => t.Id));
        Assert.All(refused, t => Assert.Equal((0, 0), stored[t.Id]));

        foreach (var t in refused)
        {
            (await api.AppendTurnAsync(t.Conversation, "user", $"turn {t.Id}", t.Id)).Expect(HttpStatusCode.Created);
        }
        stored = await StoredAsync(run, turns.Select(t => t.Id));
        Assert.All(turns, t => Assert.Equal((1, 1), stored[t.Id]));
    }

    public static TheoryData<string, Exception> OverloadErrors => new()
    {
        { "too many clients", new PostgresException("sorry, too many clients already", "FATAL", "FATAL", "53300") },
        {
            "reserved slots",
            new PostgresException("remaining connection slots are reserved for non-replication superuser connections", "FATAL", "FATAL", "53300")
        },
        { "starting up", new PostgresException("the database system is starting up", "FATAL", "FATAL", "57P03") },
        {
            "pool exhausted",
            new NpgsqlException(
                "The connection pool has been exhausted, either raise 'Max Pool Size' (currently 8) or 'Timeout' (currently 1 seconds) in your connection string.",
                new TimeoutException())
        },
    };

    [Theory]
    [MemberData(nameof(OverloadErrors))]
    public async Task Given_PostgreSQL_out_of_connections_When_the_error_reaches_the_handler_Then_503_problem_with_Retry_After(string _, Exception error)
    {
        var (status, retryAfter, contentType) = await HandleAsync(error);

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, status);
        Assert.Equal("1", retryAfter);
        Assert.Equal("application/problem+json", contentType);
    }

    public static TheoryData<string, Exception> Bugs => new()
    {
        { "undefined table", new PostgresException("relation \"x\" does not exist", "ERROR", "ERROR", "42P01") },
        { "command timeout", new NpgsqlException("Exception while reading from stream", new TimeoutException()) },
        { "broken connection", new NpgsqlException("Exception while reading from stream", new EndOfStreamException()) },
        { "plain bug", new InvalidOperationException("The connection pool has been exhausted") },
    };

    [Theory]
    [MemberData(nameof(Bugs))]
    public async Task Given_an_error_that_is_no_sign_of_overload_When_it_reaches_the_handler_Then_it_stays_500(string _, Exception error)
    {
        var (status, retryAfter, _) = await HandleAsync(error);

        Assert.Equal(StatusCodes.Status500InternalServerError, status);
        Assert.Null(retryAfter);
    }

    [Theory]
    [InlineData("Postgres:MaxPoolSize", "0")]
    [InlineData("Postgres:MaxPoolSize", "3")] // less than the daemon and the group commit hold
    [InlineData("Postgres:ConnectionTimeout", "00:00:00")]
    [InlineData("Overload:MaxConcurrentRequests", "0")]
    [InlineData("Overload:QueueLimit", "-1")]
    [InlineData("Overload:QueueTimeout", "00:00:00")]
    public void Given_an_invalid_overload_setting_When_the_service_starts_Then_it_refuses_naming_the_key(string key, string value)
    {
        ServiceEntryPoint.AssertRefusesToStart(fixture.StartSettings(new Dictionary<string, string?> { [key] = value }), key);
    }

    private static ApiClient Client(Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program> factory)
    {
        var http = factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", ServiceFixture.TenantAKey);
        return new ApiClient(http);
    }

    private static void ExpectRetryLater(Reply reply)
    {
        reply.ExpectProblem(HttpStatusCode.ServiceUnavailable);
        Assert.True(int.TryParse(reply.Headers.GetValueOrDefault("Retry-After"), out var seconds) && seconds >= 1,
            $"503 without a Retry-After of whole seconds: {reply.Text}");
    }

    /// <summary>Opens pooled connections until the pool has none left (its timeout elapses), and keeps them.</summary>
    private static async Task<List<NpgsqlConnection>> TakeEveryConnectionAsync(NpgsqlDataSource dataSource)
    {
        var held = new List<NpgsqlConnection>();
        try
        {
            while (held.Count < 100)
            {
                held.Add(await dataSource.OpenConnectionAsync());
            }
        }
        catch (NpgsqlException e) when (e.InnerException is TimeoutException)
        {
        }
        return held;
    }

    /// <summary>For each turn id: its TurnAppended events and its documents in the turns read model, in any tenant.</summary>
    private async Task<Dictionary<string, (long Events, long Rows)>> StoredAsync(string run, IEnumerable<string> turnIds)
    {
        await using var session = fixture.Store().QuerySession();
        var events = (await session.Events.QueryAllRawEvents()
                .Where(e => e.AnyTenant() && e.StreamKey!.StartsWith(run + "-") && e.EventTypesAre(typeof(TurnAppended)))
                .ToListAsync())
            .Select(e => ((TurnAppended)e.Data).TurnId).ToList();
        var rows = await session.Query<TurnView>()
            .Where(t => t.AnyTenant() && t.ConversationId.StartsWith(run + "-")).Select(t => t.TurnId).ToListAsync();
        return turnIds.ToDictionary(
            id => id, id => ((long)events.Count(e => e == id), (long)rows.Count(r => r == id)), StringComparer.Ordinal);
    }

    private static async Task<(int Status, string? RetryAfter, string? ContentType)> HandleAsync(Exception error)
    {
        await using var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Response.Body = new MemoryStream();
        var handler = new ProblemExceptionHandler(
            services.GetRequiredService<IProblemDetailsService>(), NullLogger<ProblemExceptionHandler>.Instance);

        Assert.True(await handler.TryHandleAsync(context, error, CancellationToken.None));

        var retryAfter = context.Response.Headers.RetryAfter;
        return (context.Response.StatusCode, retryAfter.Count == 0 ? null : retryAfter.ToString(), context.Response.ContentType);
    }
}
