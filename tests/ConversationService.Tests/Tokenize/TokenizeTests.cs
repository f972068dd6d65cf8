using System.Net;
using ConversationService.Tests.Infrastructure;
using ConversationService.Tokenizers;

namespace ConversationService.Tests.Tokenize;

[Collection(ServiceCollection.Name)]
public sealed class TokenizeTests(ServiceFixture fixture)
{
    private readonly ApiClient _api = fixture.Client();

    [Theory]
    [InlineData("gpt-4o", "o200k_base")]
    [InlineData("gpt-4", "cl100k_base")]
    public async Task Given_a_text_When_tokenized_Then_the_count_matches_the_models_encoding(string model, string encoding)
    {
        const string text = "Hello, wörld! 🤖 Tokenization 12345.";

        var reply = (await _api.TokenizeAsync(new { model, text })).Expect(HttpStatusCode.OK);

        Assert.Equal(model, reply.Get<string>("model"));
        Assert.Equal(encoding, reply.Get<string>("encoding"));
        Assert.Equal(ExactTiktokenTokenizer.CreateForModel(model).CountTokens(text), reply.Get<int>("tokens"));
    }

    [Fact]
    public async Task Given_messages_When_tokenized_Then_the_count_follows_the_chat_format()
    {
        var messages = new[] { new { role = "system", content = "Be brief.", name = (string?)null }, new { role = "user", content = "Hi", name = (string?)"bob" } };

        var reply = (await _api.TokenizeAsync(new { model = "gpt-4o", messages })).Expect(HttpStatusCode.OK);

        var expected = ExactTiktokenTokenizer.CreateForModel("gpt-4o").CountChatTokens(messages.Select(m => new ChatMessage(m.role, m.content, m.name)));
        Assert.Equal(expected, reply.Get<int>("tokens"));
    }

    [Fact]
    public async Task Given_an_unknown_model_When_tokenized_Then_400_lists_supported_models()
    {
        var problem = (await _api.TokenizeAsync(new { model = "no-such-model", text = "x" })).ExpectFieldError("model");
        Assert.Contains("gpt-4o", problem["errors"]!["model"]![0]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"model":"gpt-4o"}""", "text")]
    [InlineData("""{"model":"gpt-4o","text":"a","messages":[]}""", "text")]
    [InlineData("""{"text":"a"}""", "model")]
    [InlineData("""{"model":"gpt-4o","messages":[{"content":"x"}]}""", "messages[0].role")]
    [InlineData("""{"model":"gpt-4o","messages":[null]}""", "messages[0]")]
    public async Task Given_an_incomplete_request_When_tokenized_Then_400_names_the_field(string body, string field)
    {
        (await _api.SendRawAsync(HttpMethod.Post, "/tokenize", body)).ExpectFieldError(field);
    }

    [Fact]
    public async Task Given_malformed_json_When_tokenized_Then_400_problem()
    {
        (await _api.SendRawAsync(HttpMethod.Post, "/tokenize", "{\"model\":")).ExpectProblem(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Given_text_over_the_content_limit_When_tokenized_Then_413()
    {
        (await _api.TokenizeAsync(new { model = "gpt-4o", text = new string('a', 1_048_577) }))
            .ExpectFieldError("text", HttpStatusCode.RequestEntityTooLarge);
    }
}
