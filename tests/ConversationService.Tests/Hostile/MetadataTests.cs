using System.Net;
using System.Text;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Hostile;

/// <summary>
/// Metadata is stored as jsonb, returned in responses and published in integration events, so what is accepted must
/// survive all three: valid Unicode, no NUL, no repeated key, at most 16 levels and 16 KiB (the defaults). Everything
/// else is a 400 or 413 that names the field, and nothing is stored.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class MetadataTests(ServiceFixture fixture)
{
    /// <summary>Where metadata arrives: method, path ({id} = a fresh id), body ({m} = the metadata) and the field named in errors.</summary>
    private static readonly (string Method, string Path, string Body, string Field)[] Endpoints =
    [
        ("POST", "/conversations/{id}/turns", """{"role":"user","content":"x","metadata":{m}}""", "metadata"),
        ("POST", "/conversations/{id}/turns", """{"turns":[{"role":"user","content":"ok"},{"role":"user","content":"x","metadata":{m}}]}""", "turns[1].metadata"),
        ("PUT", "/conversations/{id}", """{"systemPrompt":"s","metadata":{m}}""", "metadata"),
        ("PUT", "/collections/{id}/documents/d1", """{"text":"hello","metadata":{m}}""", "metadata"),
    ];

    public static TheoryData<string, string, string, string> Targets()
    {
        var data = new TheoryData<string, string, string, string>();
        foreach (var (method, path, body, field) in Endpoints)
        {
            data.Add(method, path, body, field);
        }
        return data;
    }

    public static TheoryData<string, string, string, string, string, HttpStatusCode> BadMetadata()
    {
        var data = new TheoryData<string, string, string, string, string, HttpStatusCode>();
        var bad = new (string Name, string Json, HttpStatusCode Status)[]
        {
            ("lone high surrogate in a value", """{"a":"\ud800"}""", HttpStatusCode.BadRequest),
            ("lone low surrogate in a key", """{"\udc00x":"a"}""", HttpStatusCode.BadRequest),
            ("lone surrogate deep inside", """{"a":[{"b":"ok \ud83d"}]}""", HttpStatusCode.BadRequest),
            ("NUL in a value", """{"a":"x\u0000y"}""", HttpStatusCode.BadRequest),
            ("NUL in a key", """{"\u0000":1}""", HttpStatusCode.BadRequest),
            ("a repeated key", """{"a":1,"b":{"c":1,"c":2}}""", HttpStatusCode.BadRequest),
            ("17 levels", Nested(17), HttpStatusCode.BadRequest),
            ("64 levels", Nested(64), HttpStatusCode.BadRequest),
            ("an array", "[1,2]", HttpStatusCode.BadRequest),
            ("a string", "\"text\"", HttpStatusCode.BadRequest),
            ("17 KiB", $$"""{"a":"{{new string('x', 17 * 1024)}}"}""", HttpStatusCode.RequestEntityTooLarge),
        };
        foreach (var (method, path, body, field) in Endpoints)
        {
            foreach (var (name, json, status) in bad)
            {
                data.Add(name, method, path, body.Replace("{m}", json, StringComparison.Ordinal), field, status);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(BadMetadata))]
    public async Task Given_metadata_that_cannot_be_stored_read_and_published_When_sent_Then_a_4xx_names_the_field_and_nothing_is_stored(
        string what, string method, string path, string body, string field, HttpStatusCode status)
    {
        using var api = fixture.Client();
        var id = ApiClient.NewId();
        path = path.Replace("{id}", id, StringComparison.Ordinal);

        var reply = await api.SendRawAsync(new HttpMethod(method), path, body);

        Assert.True(reply.Status == status, $"{what}: expected {(int)status}, got {(int)reply.Status}: {reply.Text}");
        reply.ExpectFieldError(field, status);
        await AssertNothingStoredAsync(api, path, id);
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Given_invalid_UTF8_bytes_in_metadata_When_sent_Then_400_names_the_field(
        string method, string path, string body, string field)
    {
        using var api = fixture.Client();
        var id = ApiClient.NewId();
        path = path.Replace("{id}", id, StringComparison.Ordinal);
        var parts = body.Split("{m}");
        byte[] bytes = [.. Encoding.UTF8.GetBytes(parts[0] + """{"a":"x"""), 0xFF, 0xFE, .. Encoding.UTF8.GetBytes("\"}" + parts[1])];

        var reply = await api.SendBytesAsync(new HttpMethod(method), path, bytes);

        reply.ExpectFieldError(field);
        await AssertNothingStoredAsync(api, path, id);
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Given_metadata_at_the_limits_When_sent_Then_it_is_stored_and_read_back_unchanged(
        string method, string path, string body, string field)
    {
        _ = field;
        using var api = fixture.Client();
        var id = ApiClient.NewId();
        path = path.Replace("{id}", id, StringComparison.Ordinal);
        var metadata = $$"""{"emoji 🦜":"ünïcødé \ud83d\ude00","deep":{{Nested(15)}},"pad":"{{new string('x', 15_000)}}"}""";

        var reply = await api.SendRawAsync(new HttpMethod(method), path, body.Replace("{m}", metadata, StringComparison.Ordinal));

        Assert.True(reply.Status is HttpStatusCode.Created or HttpStatusCode.OK, reply.Text);
        var stored = path.StartsWith("/collections", StringComparison.Ordinal)
            ? (await api.GetAsync(path)).Expect(HttpStatusCode.OK).Body["metadata"]
            : path.EndsWith("/turns", StringComparison.Ordinal)
                ? (await api.GetTurnsAsync(id)).Expect(HttpStatusCode.OK).Body["turns"]!.AsArray()[^1]!["metadata"]
                : (await api.GetConversationAsync(id)).Expect(HttpStatusCode.OK).Body["metadata"];
        Assert.Equal("ünïcødé 😀", stored!["emoji 🦜"]!.GetValue<string>());
        Assert.Equal(15_000, stored["pad"]!.GetValue<string>().Length);
    }

    [Fact]
    public async Task Given_ten_megabytes_of_turn_metadata_When_sent_Then_413_and_nothing_is_stored()
    {
        using var api = fixture.Client();
        var id = ApiClient.NewId();
        var body = $$$"""{"role":"user","content":"x","metadata":{"a":"{{{new string('x', 10 * 1024 * 1024)}}}"}}""";

        var reply = await api.SendRawAsync(HttpMethod.Post, $"/conversations/{id}/turns", body);

        reply.ExpectFieldError("metadata", HttpStatusCode.RequestEntityTooLarge);
        (await api.GetConversationAsync(id)).ExpectProblem(HttpStatusCode.NotFound);
    }

    /// <summary><paramref name="levels"/> nested objects: {"a":{"a":...{"a":1}}}.</summary>
    public static string Nested(int levels) =>
        string.Concat(Enumerable.Repeat("""{"a":""", levels)) + "1" + new string('}', levels);

    private static async Task AssertNothingStoredAsync(ApiClient api, string path, string id)
    {
        var lookup = path.StartsWith("/collections", StringComparison.Ordinal)
            ? await api.GetAsync(path)
            : await api.GetConversationAsync(id);
        lookup.ExpectProblem(HttpStatusCode.NotFound);
    }
}
