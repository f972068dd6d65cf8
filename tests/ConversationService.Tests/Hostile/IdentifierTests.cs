using System.Net;
using ConversationService.Hosting;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Hostile;

/// <summary>
/// A regular expression's <c>$</c> also matches before a final newline, so "abc\n" once passed as the id "abc\n":
/// a second conversation beside "abc". Every identifier a client sends is refused with a 400 naming it.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class IdentifierTests(ServiceFixture fixture)
{
    [Theory]
    [InlineData("abc\n")]
    [InlineData("abc\r\n")]
    [InlineData("\nabc")]
    [InlineData("ab c")]
    [InlineData("")]
    [InlineData("é")]
    public void Given_an_id_with_a_character_outside_the_rule_Then_it_is_invalid(string id)
    {
        Assert.False(Identifiers.IsValid(id));
        Assert.False(Identifiers.IsValidName(id));
    }

    [Fact]
    public void Given_ids_at_the_rule_edges_Then_they_are_valid_exactly_up_to_the_length()
    {
        Assert.True(Identifiers.IsValid(new string('a', 128)));
        Assert.False(Identifiers.IsValid(new string('a', 129)));
        Assert.True(Identifiers.IsValid("A-z_0.9:x"));
        Assert.True(Identifiers.IsValidName(new string('a', 64)));
        Assert.False(Identifiers.IsValidName(new string('a', 65)));
        Assert.False(Identifiers.IsValidName("a.b"));
    }

    /// <summary>Every conversation endpoint, with the id "c-…\n" (%0A in the path).</summary>
    public static TheoryData<string, string, string> ConversationEndpoints => new()
    {
        { "PUT", "/conversations/{id}", """{"systemPrompt":"s"}""" },
        { "GET", "/conversations/{id}", "" },
        { "DELETE", "/conversations/{id}", "" },
        { "POST", "/conversations/{id}/turns", """{"role":"user","content":"x"}""" },
        { "GET", "/conversations/{id}/turns", "" },
        { "GET", "/conversations/{id}/context?budget=1000", "" },
        { "POST", "/conversations/{id}/context", """{"budget":1000}""" },
    };

    [Theory]
    [MemberData(nameof(ConversationEndpoints))]
    public async Task Given_a_conversation_id_with_a_trailing_newline_When_any_endpoint_is_called_Then_400_names_the_id(
        string method, string path, string body)
    {
        using var api = fixture.Client();
        var id = ApiClient.NewId();
        await api.AppendTurnAsync(id, "user", "the real one");
        var target = path.Replace("{id}", id + "%0A", StringComparison.Ordinal);

        var reply = body.Length == 0
            ? await api.SendAsync(new HttpMethod(method), target)
            : await api.SendRawAsync(new HttpMethod(method), target, body);

        reply.ExpectFieldError("id");
        Assert.Equal(1, (await api.GetConversationAsync(id)).Expect(HttpStatusCode.OK).Get<int>("turnCount"));
    }

    /// <summary>Method, path, body and the field a trailing newline (or a bad model name) must be named in.</summary>
    public static TheoryData<string, string, string, string> OtherIdentifiers => new()
    {
        { "POST", "/conversations/{id}/turns", """{"id":"t-1\n","role":"user","content":"x"}""", "id" },
        { "POST", "/conversations/{id}/turns", """{"turns":[{"id":"t-1\n","role":"user","content":"x"}]}""", "turns[0].id" },
        { "POST", "/conversations/{id}/turns", """{"role":"user","content":"x","name":"Alice\n"}""", "name" },
        { "PUT", "/conversations/{id}", """{"model":"gpt-4o\n"}""", "model" },
        { "PUT", "/conversations/{id}", """{"model":"gpt-4o-\u0000"}""", "model" },
        { "POST", "/tokenize", """{"model":"gpt-4o\n","text":"x"}""", "model" },
        { "GET", "/conversations/{id}/context?budget=1000&model=gpt-4o%0A", "", "model" },
        { "GET", "/conversations/{id}/context?budget=1000&task=t%0A&examples=1", "", "task" },
        { "GET", "/conversations/{id}/context?budget=1000&collections=a,b%0A", "", "collections" },
        { "PUT", "/collections/k%0A/documents/d", """{"text":"x"}""", "collection" },
        { "PUT", "/collections/k/documents/d%0A", """{"text":"x"}""", "docId" },
        { "GET", "/collections/k%0A/documents/d", "", "collection" },
        { "DELETE", "/collections/k/documents/d%0A", "", "docId" },
        { "GET", "/collections/k%0A/documents", "", "collection" },
        { "PUT", "/examples/e%0A", """{"input":"i","output":"o"}""", "exampleId" },
        { "PUT", "/examples/e", """{"input":"i","output":"o","task":"t\n"}""", "task" },
        { "GET", "/examples/e%0A", "", "exampleId" },
        { "DELETE", "/examples/e%0A", "", "exampleId" },
        { "GET", "/examples?task=t%0A", "", "task" },
        { "GET", "/examples?after=e%0A", "", "after" },
    };

    [Theory]
    [MemberData(nameof(OtherIdentifiers))]
    public async Task Given_an_identifier_with_a_trailing_newline_When_sent_Then_400_names_its_field(
        string method, string path, string body, string field)
    {
        using var api = fixture.Client();
        var id = ApiClient.NewId();
        await api.AppendTurnAsync(id, "user", "hello");
        var target = path.Replace("{id}", id, StringComparison.Ordinal);

        var reply = body.Length == 0
            ? await api.SendAsync(new HttpMethod(method), target)
            : await api.SendRawAsync(new HttpMethod(method), target, body);

        reply.ExpectFieldError(field);
        Assert.Equal("gpt-4o", (await api.GetConversationAsync(id)).Expect(HttpStatusCode.OK).Get<string>("model"));
    }
}
