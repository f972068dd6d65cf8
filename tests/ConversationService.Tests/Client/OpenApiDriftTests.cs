using System.Net;
using System.Reflection;
using System.Text.Json.Nodes;
using ConversationService.Client;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Client;

/// <summary>
/// The OpenAPI document and the typed client cannot drift apart: every operation has a client method that takes its
/// parameters, and the client's request and response types have exactly the schemas' properties, nested types included.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class OpenApiDriftTests(ServiceFixture fixture)
{
    private sealed record Call(string Method, Type[] Sends, Type? Reads);

    /// <summary>Every operation of the contract -> the client method that calls it, the body types it sends and the type it reads.</summary>
    private static readonly Dictionary<string, Call> Mapping = new(StringComparer.Ordinal)
    {
        ["put /conversations/{id}"] = new(nameof(ConversationServiceClient.PutConversationAsync), [typeof(ConversationSettings)], typeof(Conversation)),
        ["get /conversations/{id}"] = new(nameof(ConversationServiceClient.GetConversationAsync), [], typeof(Conversation)),
        ["delete /conversations/{id}"] = new(nameof(ConversationServiceClient.DeleteConversationAsync), [], null),
        ["post /conversations/{id}/turns"] = new(nameof(ConversationServiceClient.AppendTurnsAsync), [typeof(NewTurn), typeof(TurnBatch)], typeof(AppendedTurns)),
        ["get /conversations/{id}/turns"] = new(nameof(ConversationServiceClient.GetTurnsAsync), [], typeof(TurnPage)),
        ["get /conversations/{id}/context"] = new(nameof(ConversationServiceClient.GetContextAsync), [], typeof(ContextWindow)),
        ["post /conversations/{id}/context"] = new(nameof(ConversationServiceClient.GetContextAsync), [typeof(ContextRequest)], typeof(ContextWindow)),
        ["post /tokenize"] = new(nameof(ConversationServiceClient.TokenizeAsync), [typeof(TokenizeRequest)], typeof(TokenCount)),
        ["put /collections/{collection}/documents/{docId}"] = new(nameof(ConversationServiceClient.PutDocumentAsync), [typeof(DocumentContent)], typeof(Document)),
        ["get /collections/{collection}/documents/{docId}"] = new(nameof(ConversationServiceClient.GetDocumentAsync), [], typeof(Document)),
        ["delete /collections/{collection}/documents/{docId}"] = new(nameof(ConversationServiceClient.DeleteDocumentAsync), [], null),
        ["get /collections/{collection}/documents"] = new(nameof(ConversationServiceClient.ListDocumentsAsync), [], typeof(DocumentPage)),
        ["put /examples/{exampleId}"] = new(nameof(ConversationServiceClient.PutExampleAsync), [typeof(ExampleContent)], typeof(Example)),
        ["get /examples/{exampleId}"] = new(nameof(ConversationServiceClient.GetExampleAsync), [], typeof(Example)),
        ["delete /examples/{exampleId}"] = new(nameof(ConversationServiceClient.DeleteExampleAsync), [], null),
        ["get /examples"] = new(nameof(ConversationServiceClient.ListExamplesAsync), [], typeof(ExamplePage)),
        ["get /usage"] = new(nameof(ConversationServiceClient.GetUsageAsync), [], typeof(UsageReport)),
        ["post /cache/lookup"] = new(nameof(ConversationServiceClient.LookupCacheAsync), [typeof(CacheLookup)], typeof(CacheLookupResult)),
        ["put /cache/entries"] = new(nameof(ConversationServiceClient.PutCacheEntryAsync), [typeof(CacheEntry)], typeof(StoredCacheEntry)),
        ["delete /cache/entries/{key}"] = new(nameof(ConversationServiceClient.DeleteCacheEntryAsync), [], null),
        ["delete /cache/entries"] = new(nameof(ConversationServiceClient.DeleteCacheEntriesAsync), [], typeof(DeletedCacheEntries)),
        ["get /dashboard/data"] = new(nameof(ConversationServiceClient.GetDashboardDataAsync), [], typeof(DashboardData)),
    };

    [Fact]
    public async Task Given_the_openapi_document_When_its_operations_are_listed_Then_each_is_mapped_to_a_client_method_and_each_mapping_is_an_operation()
    {
        var document = await DocumentAsync();

        var operations = Operations(document).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);

        Assert.Equal(operations.Order(StringComparer.Ordinal), Mapping.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Given_each_operation_When_its_parameters_are_compared_Then_the_client_method_takes_every_query_and_header_parameter()
    {
        var document = await DocumentAsync();

        foreach (var (key, operation) in Operations(document))
        {
            var call = Mapping[key];
            var methods = typeof(ConversationServiceClient).GetMethods().Where(m => m.Name == call.Method).ToList();
            Assert.True(methods.Count > 0, $"{key}: no client method {call.Method}");
            var takes = methods.SelectMany(m => m.GetParameters())
                .SelectMany(p => p.ParameterType == typeof(ContextRequest) ? JsonNames(typeof(ContextRequest)) : [p.Name!])
                .ToHashSet(StringComparer.Ordinal);
            foreach (var parameter in operation["parameters"]?.AsArray() ?? [])
            {
                var (place, name) = (parameter!["in"]!.GetValue<string>(), parameter["name"]!.GetValue<string>());
                var expected = (place, name) switch
                {
                    ("header", "If-Match") => "expectedVersion",
                    ("path", _) => null,
                    _ => name,
                };
                Assert.True(expected is null || takes.Contains(expected), $"{key}: {call.Method} takes no {place} parameter {name}");
            }
        }
    }

    [Fact]
    public async Task Given_each_operation_When_its_schemas_are_compared_Then_the_client_types_have_exactly_their_properties()
    {
        var document = await DocumentAsync();
        var schemas = document["components"]!["schemas"]!.AsObject();

        foreach (var (key, operation) in Operations(document))
        {
            var call = Mapping[key];
            var request = operation["requestBody"]?["content"]?["application/json"]?["schema"];
            Assert.Equal(request is null, call.Sends.Length == 0);
            if (request is not null)
            {
                Compare(key + " request", Resolve(schemas, request), call.Sends, schemas);
            }
            var response = operation["responses"]!.AsObject()
                .Where(r => r.Key.StartsWith('2'))
                .Select(r => r.Value?["content"]?["application/json"]?["schema"])
                .FirstOrDefault(s => s is not null);
            Assert.Equal(response is null, call.Reads is null);
            if (response is not null)
            {
                Compare(key + " response", Resolve(schemas, response), [call.Reads!], schemas);
            }
        }
    }

    /// <summary>The schema's property names against the union of the types' JSON names, then each nested object alike.</summary>
    private static void Compare(string where, JsonObject schema, Type[] types, JsonObject schemas)
    {
        var properties = schema["properties"]!.AsObject();
        var clr = types.SelectMany(t => t.GetProperties().Select(p => (Name: JsonName(p), Property: p)))
            .GroupBy(p => p.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().Property, StringComparer.Ordinal);
        Assert.True(
            properties.Select(p => p.Key).Order(StringComparer.Ordinal).SequenceEqual(clr.Keys.Order(StringComparer.Ordinal)),
            $"{where}: schema has [{string.Join(", ", properties.Select(p => p.Key))}], client [{string.Join(", ", clr.Keys)}]");
        foreach (var (name, property) in properties)
        {
            var nested = property?["items"] ?? property;
            if (nested?["$ref"] is not null)
            {
                Compare($"{where}.{name}", Resolve(schemas, nested), [ElementType(clr[name].PropertyType)], schemas);
            }
        }
    }

    private static Type ElementType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>) ? type.GetGenericArguments()[0] : type;

    private static JsonObject Resolve(JsonObject schemas, JsonNode schema) =>
        schemas[schema["$ref"]!.GetValue<string>().Split('/')[^1]]!.AsObject();

    private static string JsonName(PropertyInfo property) =>
        ConversationServiceClient.Json.PropertyNamingPolicy!.ConvertName(property.Name);

    private static IEnumerable<string> JsonNames(Type type) => type.GetProperties().Select(JsonName);

    private static IEnumerable<(string Key, JsonObject Operation)> Operations(JsonNode document) =>
        document["paths"]!.AsObject().SelectMany(path => path.Value!.AsObject()
            .Select(operation => ($"{operation.Key} {path.Key}", operation.Value!.AsObject())));

    private async Task<JsonNode> DocumentAsync() =>
        (await fixture.Client(apiKey: null).GetAsync("/openapi/v1.json")).Expect(HttpStatusCode.OK).Body;
}
