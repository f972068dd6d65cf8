using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using System.Net;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Hosting;

[Collection(ServiceCollection.Name)]
public sealed class AuthTests(ServiceFixture fixture)
{
    public static TheoryData<string, string> ProtectedEndpoints => new()
    {
        { "PUT", "/conversations/x" },
        { "GET", "/conversations/x" },
        { "DELETE", "/conversations/x" },
        { "POST", "/conversations/x/turns" },
        { "GET", "/conversations/x/turns" },
        { "GET", "/conversations/x/context?budget=100" },
        { "POST", "/tokenize" },
    };

    [Theory]
    [MemberData(nameof(ProtectedEndpoints))]
    public async Task Given_no_api_key_When_calling_Then_401_problem_with_www_authenticate(string method, string path)
    {
        using var api = fixture.Client(apiKey: null);

        var reply = await api.SendAsync(new HttpMethod(method), path, method is "PUT" or "POST" ? new { } : null);

        reply.ExpectProblem(HttpStatusCode.Unauthorized);
        Assert.StartsWith("Bearer", reply.Headers["WWW-Authenticate"]);
    }

    [Theory]
    [MemberData(nameof(ProtectedEndpoints))]
    public async Task Given_a_wrong_api_key_When_calling_Then_401(string method, string path)
    {
        using var api = fixture.Client(apiKey: ServiceFixture.TenantAKey + "x");
        var reply = await api.SendAsync(new HttpMethod(method), path, method is "PUT" or "POST" ? new { } : null);
        reply.ExpectProblem(HttpStatusCode.Unauthorized);
        Assert.DoesNotContain(ServiceFixture.TenantAKey, reply.Text);
    }

    [Fact]
    public async Task Given_a_non_bearer_authorization_When_calling_Then_401()
    {
        using var api = fixture.Client(apiKey: null);
        api.Http.DefaultRequestHeaders.Authorization = new("Basic", "dXNlcjpwYXNz");
        (await api.GetConversationAsync("x")).ExpectProblem(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Given_tenant_a_conversation_When_tenant_b_uses_every_endpoint_Then_it_sees_404_and_a_is_untouched()
    {
        using var a = fixture.Client(ServiceFixture.TenantAKey);
        using var b = fixture.Client(ServiceFixture.TenantBKey);
        var id = ApiClient.NewId();
        await a.PutConversationAsync(id, new { systemPrompt = "tenant a secret" });
        await a.AppendTurnAsync(id, "user", "tenant a content", "t1");

        (await b.GetConversationAsync(id)).ExpectProblem(HttpStatusCode.NotFound);
        (await b.GetTurnsAsync(id)).ExpectProblem(HttpStatusCode.NotFound);
        (await b.GetContextAsync(id, "budget=1000")).ExpectProblem(HttpStatusCode.NotFound);
        (await b.DeleteConversationAsync(id)).ExpectProblem(HttpStatusCode.NotFound);
        // Writes by B with the same id create B's own conversation; A's stays as it was.
        (await b.PutConversationAsync(id, new { systemPrompt = "tenant b prompt" })).Expect(HttpStatusCode.Created);
        (await b.AppendTurnAsync(id, "user", "tenant b content", "t1")).Expect(HttpStatusCode.Created);
        var bTurns = (await b.GetTurnsAsync(id)).Expect(HttpStatusCode.OK);
        Assert.Equal("tenant b content", bTurns.Body["turns"]![0]!["content"]!.GetValue<string>());
        (await b.DeleteConversationAsync(id)).Expect(HttpStatusCode.NoContent);

        var aConversation = (await a.GetConversationAsync(id)).Expect(HttpStatusCode.OK);
        Assert.Equal(1, aConversation.Get<int>("turnCount"));
        Assert.Equal("tenant a secret", aConversation.Get<string>("systemPrompt"));
        var aTurns = (await a.GetTurnsAsync(id)).Expect(HttpStatusCode.OK);
        Assert.Equal("tenant a content", aTurns.Body["turns"]![0]!["content"]!.GetValue<string>());
        var aContext = (await a.GetContextAsync(id, "budget=1000")).Expect(HttpStatusCode.OK);
        Assert.DoesNotContain("tenant b", aContext.Text);
    }

    [Fact]
    public async Task Given_good_and_bad_keys_When_requests_are_logged_at_trace_level_Then_no_key_appears_in_any_log()
    {
        var sink = new LogSink();
        using var factory = fixture.CreateFactory(ExpectedLogs.With(
            new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Trace" }, "Default"))
            .WithWebHostBuilder(web => web.ConfigureLogging(logging => logging.AddProvider(sink)));
        using var http = factory.CreateClient();
        using var good = new ApiClient(http);
        http.DefaultRequestHeaders.Authorization = new("Bearer", ServiceFixture.TenantAKey);
        (await good.AppendTurnAsync(ApiClient.NewId(), "user", "hello")).Expect(HttpStatusCode.Created);
        http.DefaultRequestHeaders.Authorization = new("Bearer", "wrong-" + ServiceFixture.TenantAKey);
        (await good.GetConversationAsync("x")).Expect(HttpStatusCode.Unauthorized);

        Assert.NotEmpty(sink.Messages);
        Assert.DoesNotContain(sink.Messages, m => m.Contains(ServiceFixture.TenantAKey, StringComparison.Ordinal));
    }

    [Fact]
    public void Given_production_without_api_keys_When_starting_Then_it_refuses_with_a_message_naming_the_setting()
    {
        var settings = fixture.StartSettings(new Dictionary<string, string?> { ["environment"] = "Production" }, withKeys: false);

        ServiceEntryPoint.AssertRefusesToStart(settings, "Auth__ApiKeys__0__Key");
    }
}
