using System.Net;
using ConversationService.Tests.Embeddings;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Conversations;

[Collection(ServiceCollection.Name)]
public sealed class ConversationEndpointTests(ServiceFixture fixture)
{
    private readonly ApiClient _api = fixture.Client();

    [Fact]
    public async Task Given_no_conversation_When_put_Then_201_and_get_returns_its_settings()
    {
        var id = ApiClient.NewId();

        var created = (await _api.PutConversationAsync(id, new { systemPrompt = "Be brief.", model = "gpt-4o-mini", metadata = new { app = "x" } }))
            .Expect(HttpStatusCode.Created);
        var fetched = (await _api.GetConversationAsync(id)).Expect(HttpStatusCode.OK);

        Assert.Equal("\"1\"", created.Headers["ETag"]);
        Assert.Equal(id, fetched.Get<string>("id"));
        Assert.Equal(1, fetched.Get<long>("version"));
        Assert.Equal("gpt-4o-mini", fetched.Get<string>("model"));
        Assert.Equal("Be brief.", fetched.Get<string>("systemPrompt"));
        Assert.Equal("x", fetched.Body["metadata"]!["app"]!.GetValue<string>());
        Assert.Equal(0, fetched.Get<int>("turnCount"));
        Assert.Equal(0, fetched.Get<long>("totalTokens"));
        Assert.InRange(fetched.Get<long>("indexedVersion"), 0, 1);
        // indexedVersion follows the asynchronous embedding projection, so it reaches the version shortly after.
        Assert.Equal(1, await EmbeddingProbe.WaitUntilIndexedAsync(_api, id));
        Assert.NotNull(fetched.Body["createdAt"]);
        Assert.NotNull(fetched.Body["updatedAt"]);
    }

    [Fact]
    public async Task Given_a_conversation_When_put_changes_the_prompt_Then_200_and_other_settings_stay()
    {
        var id = ApiClient.NewId();
        await _api.PutConversationAsync(id, new { systemPrompt = "One", model = "gpt-4" });

        var updated = (await _api.PutConversationAsync(id, new { systemPrompt = "Two" })).Expect(HttpStatusCode.OK);
        var unchanged = (await _api.PutConversationAsync(id, new { systemPrompt = "Two" })).Expect(HttpStatusCode.OK);

        Assert.Equal("Two", updated.Get<string>("systemPrompt"));
        Assert.Equal("gpt-4", updated.Get<string>("model"));
        Assert.Equal(2, updated.Get<long>("version"));
        Assert.Equal(2, unchanged.Get<long>("version"));
    }

    [Fact]
    public async Task Given_no_model_When_put_Then_the_default_model_is_used()
    {
        var id = ApiClient.NewId();
        var created = (await _api.PutConversationAsync(id, new { })).Expect(HttpStatusCode.Created);
        Assert.Equal("gpt-4o", created.Get<string>("model"));
    }

    [Fact]
    public async Task Given_an_unknown_model_When_put_Then_400_names_model_and_lists_supported_ones()
    {
        var problem = (await _api.PutConversationAsync(ApiClient.NewId(), new { model = "no-such-model" }))
            .ExpectFieldError("model");
        Assert.Contains("gpt-4o", problem["errors"]!["model"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task Given_a_nul_character_in_the_system_prompt_When_put_Then_400_names_system_prompt()
    {
        (await _api.SendRawAsync(HttpMethod.Put, $"/conversations/{ApiClient.NewId()}", """{"systemPrompt":"a\u0000"}"""))
            .ExpectFieldError("systemPrompt");
    }

    [Fact]
    public async Task Given_a_conversation_When_put_with_a_stale_if_match_Then_409()
    {
        var id = ApiClient.NewId();
        await _api.PutConversationAsync(id, new { systemPrompt = "One" });
        await _api.PutConversationAsync(id, new { systemPrompt = "Two" });

        (await _api.SendAsync(HttpMethod.Put, $"/conversations/{id}", new { systemPrompt = "Three" }, "\"1\""))
            .ExpectProblem(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Given_an_invalid_conversation_id_When_put_Then_400_names_id()
    {
        (await _api.PutConversationAsync("bad%20id", new { })).ExpectFieldError("id");
    }

    [Fact]
    public async Task Given_an_unknown_conversation_When_get_or_delete_Then_404_problem()
    {
        var id = ApiClient.NewId();
        (await _api.GetConversationAsync(id)).ExpectProblem(HttpStatusCode.NotFound);
        (await _api.DeleteConversationAsync(id)).ExpectProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Given_an_id_longer_than_any_stored_one_When_get_or_delete_Then_400_names_the_id_not_500()
    {
        var id = new string('a', 5_000);
        (await _api.GetConversationAsync(id)).ExpectFieldError("id");
        (await _api.DeleteConversationAsync(id)).ExpectFieldError("id");
        (await _api.GetContextAsync(id, "budget=10")).ExpectFieldError("id");
    }

    [Fact]
    public async Task Given_turns_When_get_conversation_Then_counts_and_tokens_add_up()
    {
        var id = ApiClient.NewId();
        var first = (await _api.AppendTurnAsync(id, "user", "Hello there")).Expect(HttpStatusCode.Created);
        var second = (await _api.AppendTurnAsync(id, "assistant", "General Kenobi!")).Expect(HttpStatusCode.Created);

        var conversation = (await _api.GetConversationAsync(id)).Expect(HttpStatusCode.OK);

        Assert.Equal(2, conversation.Get<int>("turnCount"));
        Assert.Equal(3, conversation.Get<long>("version"));
        Assert.Equal(
            first.Body["turns"]![0]!["tokens"]!.GetValue<long>() + second.Body["turns"]![0]!["tokens"]!.GetValue<long>(),
            conversation.Get<long>("totalTokens"));
    }

    [Fact]
    public async Task Given_a_deleted_conversation_When_any_endpoint_is_called_Then_404_and_no_content_is_readable()
    {
        var id = ApiClient.NewId();
        await _api.PutConversationAsync(id, new { systemPrompt = "secret prompt" });
        await _api.AppendTurnAsync(id, "user", "secret content", "t1");

        (await _api.DeleteConversationAsync(id)).Expect(HttpStatusCode.NoContent);

        (await _api.GetConversationAsync(id)).ExpectProblem(HttpStatusCode.NotFound);
        (await _api.GetTurnsAsync(id)).ExpectProblem(HttpStatusCode.NotFound);
        (await _api.GetContextAsync(id, "budget=1000")).ExpectProblem(HttpStatusCode.NotFound);
        (await _api.DeleteConversationAsync(id)).ExpectProblem(HttpStatusCode.NotFound);
        (await _api.AppendTurnAsync(id, "user", "secret content", "t1")).ExpectProblem(HttpStatusCode.NotFound);
        (await _api.AppendTurnAsync(id, "user", "more")).ExpectProblem(HttpStatusCode.NotFound);
        (await _api.PutConversationAsync(id, new { systemPrompt = "again" })).ExpectProblem(HttpStatusCode.NotFound);
        Assert.Equal(0, await fixture.CountReadModelRowsAsync(id));
    }
}
