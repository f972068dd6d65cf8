using System.Net;
using System.Text;
using ConversationService.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace ConversationService.Tests.Tokenize;

/// <summary>
/// A deployment names a tiktoken-format vocabulary for a model of its own (Tokenizers:Models:&lt;model&gt;), and the
/// tokenize endpoint, stored turn counts and context budgets count in it. The file is made here: the 256 single bytes,
/// then the merges he, ll, hell, hello, so that "hello" is one token and every other word one token per byte.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class VocabularyFileTests(ServiceFixture fixture) : IDisposable
{
    private static readonly string[] Merges = ["he", "ll", "hell", "hello"];

    private readonly string _directory = Directory.CreateTempSubdirectory("cs-vocab-").FullName;

    [Fact]
    public async Task Given_a_model_with_a_vocabulary_file_When_text_is_tokenized_Then_it_is_counted_in_that_vocabulary()
    {
        await using var service = Service(("my-llama", "cl100k_base"), ("char-model", "."));
        using var api = Client(service);

        var llama = (await api.TokenizeAsync(new { model = "my-llama", text = "hello hello world" })).Expect(HttpStatusCode.OK);
        var chars = (await api.TokenizeAsync(new { model = "char-model", text = "hello hello world" })).Expect(HttpStatusCode.OK);
        var builtin = (await api.TokenizeAsync(new { model = "gpt-4o", text = "hello hello world" })).Expect(HttpStatusCode.OK);

        // cl100k's pattern: "hello" | " hello" | " world" = 1 + (" " "hello") 2 + 6 bytes.
        Assert.Equal((9, "my-llama"), (llama.Get<int>("tokens"), llama.Get<string>("encoding")));
        // One pre-token per character, so no merge applies.
        Assert.Equal((17, "char-model"), (chars.Get<int>("tokens"), chars.Get<string>("encoding")));
        Assert.Equal((3, "o200k_base"), (builtin.Get<int>("tokens"), builtin.Get<string>("encoding")));
    }

    [Fact]
    public async Task Given_a_conversation_on_that_model_When_turns_are_stored_and_context_is_assembled_Then_budgets_count_in_it()
    {
        await using var service = Service(("my-llama", "cl100k_base"));
        using var api = Client(service);
        var id = ApiClient.NewId();
        (await api.PutConversationAsync(id, new { model = "my-llama" })).Expect(HttpStatusCode.Created);

        var user = (await api.AppendTurnAsync(id, "user", "hello hello world")).Expect(HttpStatusCode.Created);
        var assistant = (await api.AppendTurnAsync(id, "assistant", "hello")).Expect(HttpStatusCode.Created);
        var context = (await api.GetContextAsync(id, "budget=1000")).Expect(HttpStatusCode.OK);
        var tight = (await api.GetContextAsync(id, "budget=30")).Expect(HttpStatusCode.OK);

        // 3 + "user" 4 bytes + 9; 3 + "assistant" 9 bytes + "hello" 1.
        Assert.Equal(16, user.Body["turns"]![0]!["tokens"]!.GetValue<int>());
        Assert.Equal(13, assistant.Body["turns"]![0]!["tokens"]!.GetValue<int>());
        Assert.Equal("my-llama", context.Get<string>("encoding"));
        Assert.Equal(3 + 16 + 13, context.Get<int>("tokens"));
        Assert.Equal(3 + 16 + 13, context.Get<int>("fullHistoryTokens"));
        // The assistant's 13 no longer fit beside the mandatory newest user turn.
        Assert.Equal(3 + 16, tight.Get<int>("tokens"));
    }

    [Theory]
    [InlineData("missing", "cl100k_base", "Tokenizers:Models:my-llama:VocabularyFile")]
    [InlineData("bad-line", "cl100k_base", "Tokenizers:Models:my-llama:VocabularyFile: Line 261 ")]
    [InlineData("no-byte", "cl100k_base", "0xFF")]
    [InlineData("good", "([a-z]+", "Tokenizers:Models:my-llama:Pattern")]
    public void Given_an_unusable_vocabulary_setting_When_the_service_starts_Then_it_refuses_naming_the_problem(
        string file, string pattern, string named)
    {
        var path = file switch
        {
            "missing" => Path.Combine(_directory, "missing.tiktoken"),
            "bad-line" => Write("bad-line.tiktoken", Lines() + "aGVsbG8=\n"),
            "no-byte" => Write("no-byte.tiktoken", string.Concat(Lines().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.EndsWith(" 255", StringComparison.Ordinal)).Select(l => l + "\n"))),
            _ => Vocabulary(),
        };

        ServiceEntryPoint.AssertRefusesToStart(fixture.StartSettings(new Dictionary<string, string?>
        {
            ["Tokenizers:Models:my-llama:VocabularyFile"] = path,
            ["Tokenizers:Models:my-llama:Pattern"] = pattern,
        }), named);
    }

    private WebApplicationFactory<Program> Service(params (string Model, string Pattern)[] models)
    {
        var path = Vocabulary();
        var settings = new Dictionary<string, string?>();
        foreach (var (model, pattern) in models)
        {
            settings[$"Tokenizers:Models:{model}:VocabularyFile"] = path;
            settings[$"Tokenizers:Models:{model}:Pattern"] = pattern;
        }
        return fixture.CreateFactory(settings);
    }

    private static ApiClient Client(WebApplicationFactory<Program> service)
    {
        var http = service.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", ServiceFixture.TenantAKey);
        return new ApiClient(http);
    }

    private string Vocabulary() => Write("tiny.tiktoken", Lines());

    /// <summary>tiktoken's format: base64 of the token's bytes, a space, its rank.</summary>
    private static string Lines()
    {
        var lines = new StringBuilder();
        var rank = 0;
        foreach (var token in Enumerable.Range(0, 256).Select(b => new[] { (byte)b })
            .Concat(Merges.Select(Encoding.UTF8.GetBytes)))
        {
            lines.Append(Convert.ToBase64String(token)).Append(' ').Append(rank++).Append('\n');
        }
        return lines.ToString();
    }

    private string Write(string name, string content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
