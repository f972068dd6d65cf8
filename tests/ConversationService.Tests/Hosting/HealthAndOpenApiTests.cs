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

    /// <summary>Every operation of the contract with the parameters it takes outside the body: (in, name).</summary>
    public static TheoryData<string, string, string[]> Operations => new()
    {
        { "put", "/conversations/{id}", ["path id", "header If-Match"] },
        { "get", "/conversations/{id}", ["path id"] },
        { "delete", "/conversations/{id}", ["path id"] },
        { "post", "/conversations/{id}/turns", ["path id", "header If-Match"] },
        { "get", "/conversations/{id}/turns", ["path id", "query after", "query limit"] },
        {
            "get", "/conversations/{id}/context",
            [
                "path id", "query budget", "query model", "query query", "query reserve", "query examples", "query task",
                "query collections", "query recentShare", "query summaryShare", "query knowledgeShare", "query examplesShare",
            ]
        },
        { "post", "/conversations/{id}/context", ["path id"] },
        { "post", "/tokenize", [] },
        { "put", "/collections/{collection}/documents/{docId}", ["path collection", "path docId"] },
        { "get", "/collections/{collection}/documents/{docId}", ["path collection", "path docId"] },
        { "delete", "/collections/{collection}/documents/{docId}", ["path collection", "path docId"] },
        { "get", "/collections/{collection}/documents", ["path collection", "query after", "query limit"] },
        { "put", "/examples/{exampleId}", ["path exampleId"] },
        { "get", "/examples/{exampleId}", ["path exampleId"] },
        { "delete", "/examples/{exampleId}", ["path exampleId"] },
        { "get", "/examples", ["query task", "query after", "query limit"] },
        { "get", "/usage", ["query from", "query to", "query groupBy"] },
    };

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task Given_the_service_When_the_openapi_document_is_fetched_Then_it_lists_the_operation_with_its_parameters_and_the_bearer_scheme(
        string method, string path, string[] parameters)
    {
        var reply = (await _anonymous.GetAsync("/openapi/v1.json")).Expect(HttpStatusCode.OK);

        var operation = reply.Body["paths"]?[path]?[method];
        Assert.True(operation is not null, $"missing {method} {path}");
        var listed = (operation["parameters"]?.AsArray() ?? [])
            .Select(p => $"{p!["in"]!.GetValue<string>()} {p["name"]!.GetValue<string>()}")
            .ToHashSet(StringComparer.Ordinal);
        Assert.Subset(listed, parameters.ToHashSet(StringComparer.Ordinal));
        var security = operation["security"]?.AsArray() ?? reply.Body["security"]?.AsArray();
        Assert.True(security?.Any(s => s!.AsObject().ContainsKey("ApiKey")) == true, $"{method} {path} names no ApiKey scheme");
    }

    [Fact]
    public async Task Given_the_service_When_the_openapi_document_is_fetched_Then_it_has_the_bearer_scheme_and_the_schemas()
    {
        var reply = (await _anonymous.GetAsync("/openapi/v1.json")).Expect(HttpStatusCode.OK);

        Assert.Equal("bearer", reply.Body["components"]!["securitySchemes"]!["ApiKey"]!["scheme"]!.GetValue<string>());
        var schemas = reply.Body["components"]!["schemas"]!.AsObject();
        foreach (var name in new[] { "AppendTurnsRequest", "AppendTurnsResponse", "TokenizeRequest", "GetContextResponse" })
        {
            Assert.True(schemas.ContainsKey(name), $"missing schema {name}");
        }
        // Bodies hold their own fields only: path and header parameters are not repeated in them.
        var append = schemas["AppendTurnsRequest"]!["properties"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Equal(["id", "role", "content", "name", "occurredAt", "metadata", "turns"], append);
        var postContext = reply.Body["paths"]!["/conversations/{id}/context"]!["post"]!["requestBody"]!["content"]!
            ["application/json"]!["schema"]!["$ref"]!.GetValue<string>().Split('/')[^1];
        var postFields = schemas[postContext]!["properties"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Contains("budget", postFields);
        Assert.Contains("candidates", postFields);
        Assert.DoesNotContain("conversationId", postFields);
    }

    [Fact]
    public async Task Given_the_service_When_scalar_is_requested_Then_it_is_served_and_reads_the_document()
    {
        var page = (await _anonymous.GetAsync("/scalar")).Expect(HttpStatusCode.OK);
        var script = (await _anonymous.GetAsync("/scalar/scalar.js")).Expect(HttpStatusCode.OK);

        // Relative to the application's base path, so the page works behind a path prefix too.
        Assert.Contains("\"url\":\"openapi/v1.json\"", page.Text, StringComparison.Ordinal);
        Assert.True(script.Text.Length > 100_000, "the bundled Scalar script is served");
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
