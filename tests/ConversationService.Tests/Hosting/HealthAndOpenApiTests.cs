using System.Net;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Hosting;

[Collection(ServiceCollection.Name)]
public sealed class HealthAndOpenApiTests(ServiceFixture fixture)
{
    private readonly ApiClient _anonymous = fixture.Client(apiKey: null);

    [Fact]
    public async Task Given_the_service_When_live_is_probed_without_a_key_Then_200()
    {
        (await _anonymous.GetAsync("/health/live")).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Given_postgres_and_rabbitmq_up_When_ready_is_probed_Then_200_with_both_checks_healthy()
    {
        var reply = (await _anonymous.GetAsync("/health/ready")).Expect(HttpStatusCode.OK);

        Assert.Equal("Healthy", reply.Body["checks"]!["postgresql"]!["status"]!.GetValue<string>());
        Assert.Equal("Healthy", reply.Body["checks"]!["rabbitmq"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Given_an_unreachable_broker_When_ready_is_probed_Then_503_naming_rabbitmq()
    {
        using var factory = fixture.CreateFactory(ExpectedLogs.With(
            new Dictionary<string, string?> { ["ConnectionStrings:RabbitMq"] = "amqp://guest:guest@127.0.0.1:1/" },
            "MassTransit", "Microsoft.Extensions.Diagnostics.HealthChecks")).WithWebHostBuilder(web => web.WaitForBus(false));
        using var api = new ApiClient(factory.CreateClient());

        var reply = (await api.GetAsync("/health/ready")).Expect(HttpStatusCode.ServiceUnavailable);

        Assert.Equal("Unhealthy", reply.Body["checks"]!["rabbitmq"]!["status"]!.GetValue<string>());
        Assert.Equal("Healthy", reply.Body["checks"]!["postgresql"]!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Given_the_service_When_the_openapi_document_is_fetched_Then_it_lists_every_endpoint_and_the_bearer_scheme()
    {
        var reply = (await _anonymous.GetAsync("/openapi/v1.json")).Expect(HttpStatusCode.OK);

        var paths = reply.Body["paths"]!.AsObject();
        foreach (var path in new[] { "/conversations/{id}", "/conversations/{id}/turns", "/conversations/{id}/context", "/tokenize" })
        {
            Assert.True(paths.ContainsKey(path), $"missing {path}");
        }
        Assert.Equal("bearer", reply.Body["components"]!["securitySchemes"]!["ApiKey"]!["scheme"]!.GetValue<string>());
        var schemas = reply.Body["components"]!["schemas"]!.AsObject();
        foreach (var name in new[] { "AppendTurnsRequest", "AppendTurnsResponse", "TokenizeRequest", "GetContextResponse" })
        {
            Assert.True(schemas.ContainsKey(name), $"missing schema {name}");
        }
    }

    [Fact]
    public async Task Given_the_service_When_swagger_ui_is_requested_Then_it_is_served()
    {
        var reply = await _anonymous.GetAsync("/swagger/index.html");
        reply.Expect(HttpStatusCode.OK);
        Assert.Contains("swagger", reply.Text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Given_an_unknown_path_When_requested_Then_404_problem()
    {
        using var api = fixture.Client();
        (await api.GetAsync("/nothing-here")).ExpectProblem(HttpStatusCode.NotFound);
    }
}
