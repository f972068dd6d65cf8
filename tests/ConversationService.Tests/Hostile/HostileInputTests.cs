using System.Net;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Hostile;

/// <summary>Odd and hostile inputs get a 4xx problem, never a 500.</summary>
[Collection(ServiceCollection.Name)]
public sealed class HostileInputTests(ServiceFixture fixture)
{
    private static readonly string Deep = new string('[', 200) + new string(']', 200);

    public static TheoryData<string, string, string> Inputs => new()
    {
        { "POST", "/conversations/{id}/turns", "[]" },
        { "POST", "/conversations/{id}/turns", "123" },
        { "POST", "/conversations/{id}/turns", "\"text\"" },
        { "POST", "/conversations/{id}/turns", """{"turns":{}}""" },
        { "POST", "/conversations/{id}/turns", """{"turns":[1]}""" },
        { "POST", "/conversations/{id}/turns", """{"role":["user"],"content":"x"}""" },
        { "POST", "/conversations/{id}/turns", """{"role":"user","content":"x","metadata":""" + Deep + "}" },
        { "POST", "/conversations/{id}/turns", """{"role":"user","content":"x","occurredAt":"99999-01-01T00:00:00Z"}""" },
        { "POST", "/conversations/{id}/turns", """{"role":"user","content":{"nested":true}}""" },
        { "PUT", "/conversations/{id}", """{"model":123}""" },
        { "PUT", "/conversations/{id}", """{"systemPrompt":{}}""" },
        { "PUT", "/conversations/{id}", """{"metadata":[1,2]}""" },
        { "PUT", "/conversations/{id}", "{" },
        { "POST", "/tokenize", """{"model":"gpt-4o","messages":{}}""" },
        { "POST", "/tokenize", """{"model":["gpt-4o"],"text":"x"}""" },
        { "POST", "/tokenize", "[]" },
        { "GET", "/conversations/{id}/context?budget=99999999999", "" },
        { "GET", "/conversations/{id}/context?budget=1e3", "" },
        { "GET", "/conversations/{id}/context?budget=100&reserve=abc", "" },
        { "GET", "/conversations/{id}/turns?after=99999999999", "" },
        { "GET", "/usage?to=0001-01-01T00:00:00Z", "" },
        { "GET", "/usage?to=0001-01-01T00:00:00%2B14:00", "" },
        { "GET", "/usage?from=9999-12-31T23:59:59Z", "" },
        { "POST", "/tokenize", """{"model":"gpt-4o","messages":[{"role":"user","content":"x","name":"%NAME%"}]}""" },
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task Given_a_hostile_input_When_sent_Then_a_4xx_problem_and_never_500(string method, string path, string body)
    {
        using var api = fixture.Client();
        var id = ApiClient.NewId();
        await api.AppendTurnAsync(id, "user", "hello");

        var reply = body.Length == 0
            ? await api.SendAsync(new HttpMethod(method), path.Replace("{id}", id, StringComparison.Ordinal))
            : await api.SendRawAsync(new HttpMethod(method), path.Replace("{id}", id, StringComparison.Ordinal),
                body.Replace("%NAME%", new string('n', 65), StringComparison.Ordinal));

        Assert.InRange((int)reply.Status, 400, 499);
        Assert.Equal("application/problem+json", reply.ContentType);
    }

    [Theory]
    [InlineData("application/json; charset=bogus")]
    [InlineData("application/json; charset=utf8")]
    [InlineData("application/json; charset=\"utf-8\"")]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/json; charset=\"latin1\"")]
    public async Task Given_a_body_declared_in_another_charset_When_posted_Then_415_and_nothing_is_stored(string contentType)
    {
        using var api = fixture.Client();
        var id = ApiClient.NewId();

        var reply = await api.SendBytesAsync(
            HttpMethod.Post, $"/conversations/{id}/turns", """{"role":"user","content":"x"}"""u8.ToArray(), contentType);

        reply.ExpectProblem(System.Net.HttpStatusCode.UnsupportedMediaType);
        (await api.GetConversationAsync(id)).ExpectProblem(System.Net.HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("application/json; charset=UTF-8")]
    [InlineData("application/json")]
    public async Task Given_a_body_in_UTF8_When_posted_with_or_without_charset_Then_it_is_stored(string contentType)
    {
        using var api = fixture.Client();

        var reply = await api.SendBytesAsync(
            HttpMethod.Post, $"/conversations/{ApiClient.NewId()}/turns", """{"role":"user","content":"x"}"""u8.ToArray(), contentType);

        reply.Expect(System.Net.HttpStatusCode.Created);
    }
}
