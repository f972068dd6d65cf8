using System.Net;
using ConversationService.Tests.Infrastructure;
using ConversationService.Tokenizers;

namespace ConversationService.Tests.Conversations;

[Collection(ServiceCollection.Name)]
public sealed class AppendTurnsTests(ServiceFixture fixture)
{
    private readonly ApiClient _api = fixture.Client();

    [Fact]
    public async Task Given_no_conversation_When_a_turn_is_posted_Then_201_creates_it_with_index_1_and_exact_tokens()
    {
        var id = ApiClient.NewId();

        var reply = (await _api.AppendAsync(id, new { id = "turn-1", role = "user", content = "What is the capital of France?", name = "alice" }))
            .Expect(HttpStatusCode.Created);

        var expected = ExactTiktokenTokenizer.CreateForModel("gpt-4o").CountMessageTokens("user", "What is the capital of France?", "alice");
        Assert.Equal(id, reply.Get<string>("conversationId"));
        Assert.Equal(2, reply.Get<long>("version"));
        Assert.Equal("\"2\"", reply.Headers["ETag"]);
        var turn = reply.Body["turns"]![0]!;
        Assert.Equal("turn-1", turn["id"]!.GetValue<string>());
        Assert.Equal(1, turn["index"]!.GetValue<int>());
        Assert.Equal(expected, turn["tokens"]!.GetValue<int>());
        (await _api.GetConversationAsync(id)).Expect(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Given_a_turn_without_id_When_posted_Then_the_server_assigns_a_valid_id()
    {
        var reply = (await _api.AppendTurnAsync(ApiClient.NewId(), "user", "hi")).Expect(HttpStatusCode.Created);
        Assert.Matches("^[A-Za-z0-9._:-]{1,128}$", reply.Body["turns"]![0]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Given_a_cl100k_conversation_When_a_turn_is_posted_Then_tokens_use_that_encoding()
    {
        var id = ApiClient.NewId();
        await _api.PutConversationAsync(id, new { model = "gpt-4" });
        const string content = "Tokenizers differ: 🤖 naïve façade — 12345 tokens?";

        var reply = (await _api.AppendTurnAsync(id, "user", content)).Expect(HttpStatusCode.Created);

        var expected = ExactTiktokenTokenizer.CreateForModel("gpt-4").CountMessageTokens("user", content);
        Assert.Equal(expected, reply.Body["turns"]![0]!["tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Given_a_batch_When_posted_Then_all_turns_get_contiguous_indexes_in_one_version_step()
    {
        var id = ApiClient.NewId();
        await _api.AppendTurnAsync(id, "user", "first");

        var reply = (await _api.AppendAsync(id, new
        {
            turns = new[]
            {
                new { role = "assistant", content = "second" },
                new { role = "user", content = "third" },
                new { role = "tool", content = "fourth" },
            },
        })).Expect(HttpStatusCode.Created);

        Assert.Equal([2, 3, 4], reply.Body["turns"]!.AsArray().Select(t => t!["index"]!.GetValue<int>()));
        Assert.Equal(5, reply.Get<long>("version"));
    }

    [Fact]
    public async Task Given_a_batch_with_one_invalid_turn_When_posted_Then_400_names_the_field_and_nothing_is_stored()
    {
        var id = ApiClient.NewId();
        await _api.AppendTurnAsync(id, "user", "first");
        var turns = Enumerable.Range(0, 5).Select(i => new { role = i == 3 ? "robot" : "user", content = $"turn {i}" }).ToArray();

        (await _api.AppendAsync(id, new { turns })).ExpectFieldError("turns[3].role");

        Assert.Equal(1, (await _api.GetConversationAsync(id)).Get<int>("turnCount"));
    }

    [Theory]
    [InlineData("""{"role":"user","content":""}""", "content")]
    [InlineData("""{"role":"user"}""", "content")]
    [InlineData("""{"role":"robot","content":"x"}""", "role")]
    [InlineData("""{"content":"x"}""", "role")]
    [InlineData("""{"id":"has space","role":"user","content":"x"}""", "id")]
    [InlineData("""{"id":"","role":"user","content":"x"}""", "id")]
    [InlineData("""{"role":"user","content":"x","name":"not valid!"}""", "name")]
    [InlineData("""{"turns":[]}""", "turns")]
    [InlineData("""{"turns":[{"role":"user","content":"x"},null]}""", "turns[1]")]
    [InlineData("""{"role":"user","content":"a\u0000b"}""", "content")]
    [InlineData("""{"role":"user","content":"ab","metadata":{"k":"\u0000"}}""", "metadata")]
    [InlineData("""{"turns":[{"id":"a","role":"user","content":"x"},{"id":"a","role":"user","content":"y"}]}""", "turns[1].id")]
    [InlineData("""{"role":"user","content":"x","turns":[{"role":"user","content":"y"}]}""", "turns")]
    public async Task Given_invalid_turn_fields_When_posted_Then_400_names_the_field(string body, string field)
    {
        (await _api.SendRawAsync(HttpMethod.Post, $"/conversations/{ApiClient.NewId()}/turns", body)).ExpectFieldError(field);
    }

    [Fact]
    public async Task Given_a_turn_id_of_129_characters_When_posted_Then_400_and_128_is_accepted()
    {
        var id = ApiClient.NewId();
        (await _api.AppendTurnAsync(id, "user", "x", new string('a', 129))).ExpectFieldError("id");
        (await _api.AppendTurnAsync(id, "user", "x", new string('a', 128) )).Expect(HttpStatusCode.Created);
    }

    [Theory]
    [InlineData("{\"role\":\"user\",")]
    [InlineData("not json")]
    [InlineData("{\"role\":5,\"content\":\"x\"}")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("{\"role\":\"user\",\"content\":\"a\\ud800b\"}")]
    [InlineData("{\"role\":\"user\",\"content\":\"x\",\"occurredAt\":\"not a date\"}")]
    public async Task Given_malformed_json_When_posted_Then_400_problem_never_500(string body)
    {
        (await _api.SendRawAsync(HttpMethod.Post, $"/conversations/{ApiClient.NewId()}/turns", body))
            .ExpectProblem(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Given_content_over_the_limit_When_posted_Then_413_names_the_field()
    {
        var content = new string('x', 1_048_577);
        (await _api.AppendAsync(ApiClient.NewId(), new { turns = new[] { new { role = "user", content } } }))
            .ExpectFieldError("turns[0].content", HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Given_more_turns_than_the_batch_limit_When_posted_Then_400_names_turns()
    {
        var turns = Enumerable.Range(0, 1_001).Select(i => new { role = "user", content = "x" }).ToArray();
        (await _api.AppendAsync(ApiClient.NewId(), new { turns })).ExpectFieldError("turns");
    }

    [Fact]
    public async Task Given_a_body_over_the_request_limit_When_posted_Then_413_problem()
    {
        using var factory = fixture.CreateFactory(new Dictionary<string, string?>
        {
            ["Limits:MaxContentBytes"] = "1000",
            ["Limits:MaxRequestBodyBytes"] = "2000",
        });
        using var http = factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", ServiceFixture.TenantAKey);
        var api = new ApiClient(http);

        var body = Reply.Serialize(new { role = "user", content = new string('x', 3000) });
        (await api.SendRawAsync(HttpMethod.Post, $"/conversations/{ApiClient.NewId()}/turns", body))
            .ExpectProblem(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Given_a_stored_turn_id_When_the_same_turn_is_posted_again_Then_the_original_result_returns_and_nothing_is_stored()
    {
        var id = ApiClient.NewId();
        var original = (await _api.AppendTurnAsync(id, "user", "hello", "t-1")).Expect(HttpStatusCode.Created);
        await _api.AppendTurnAsync(id, "assistant", "hi!");

        var replay = (await _api.AppendTurnAsync(id, "user", "hello", "t-1")).Expect(HttpStatusCode.Created);

        Assert.Equal(original.Body.ToJsonString(), replay.Body.ToJsonString());
        var conversation = await _api.GetConversationAsync(id);
        Assert.Equal(2, conversation.Get<int>("turnCount"));
        Assert.Equal(3, conversation.Get<long>("version"));
    }

    [Fact]
    public async Task Given_an_append_with_if_match_that_succeeded_When_it_is_retried_Then_the_original_result_returns_not_409()
    {
        var id = ApiClient.NewId();
        var original = (await _api.AppendAsync(id, new { id = "t-1", role = "user", content = "hello" }, "\"0\""))
            .Expect(HttpStatusCode.Created);

        var retry = (await _api.AppendAsync(id, new { id = "t-1", role = "user", content = "hello" }, "\"0\""))
            .Expect(HttpStatusCode.Created);

        Assert.Equal(original.Body.ToJsonString(), retry.Body.ToJsonString());
        Assert.Equal(1, (await _api.GetConversationAsync(id)).Get<int>("turnCount"));
    }

    [Fact]
    public async Task Given_a_stored_turn_id_When_a_batch_repeats_it_with_new_turns_Then_only_the_new_ones_are_stored()
    {
        var id = ApiClient.NewId();
        await _api.AppendTurnAsync(id, "user", "hello", "t-1");

        var reply = (await _api.AppendAsync(id, new
        {
            turns = new[] { new { id = "t-1", role = "user", content = "hello" }, new { id = "t-2", role = "assistant", content = "hi" } },
        })).Expect(HttpStatusCode.Created);

        Assert.Equal([1, 2], reply.Body["turns"]!.AsArray().Select(t => t!["index"]!.GetValue<int>()));
        Assert.Equal(2, (await _api.GetConversationAsync(id)).Get<int>("turnCount"));
    }

    [Fact]
    public async Task Given_a_stored_turn_id_When_posted_with_other_content_Then_409_and_nothing_is_stored()
    {
        var id = ApiClient.NewId();
        await _api.AppendTurnAsync(id, "user", "hello", "t-1");

        (await _api.AppendTurnAsync(id, "user", "changed", "t-1")).ExpectProblem(HttpStatusCode.Conflict);

        var turns = await _api.GetTurnsAsync(id);
        Assert.Equal("hello", turns.Body["turns"]![0]!["content"]!.GetValue<string>());
        Assert.Equal(1, turns.Get<int>("turnCount"));
    }

    [Fact]
    public async Task Given_version_2_When_posted_with_if_match_2_Then_201_and_with_a_stale_if_match_Then_409()
    {
        var id = ApiClient.NewId();
        await _api.AppendTurnAsync(id, "user", "one");

        (await _api.AppendAsync(id, new { role = "assistant", content = "two" }, "\"2\"")).Expect(HttpStatusCode.Created);
        var conflict = (await _api.AppendAsync(id, new { role = "user", content = "three" }, "\"2\""))
            .ExpectProblem(HttpStatusCode.Conflict);

        Assert.Equal(3, conflict["currentVersion"]!.GetValue<long>());
        Assert.Equal(2, (await _api.GetConversationAsync(id)).Get<int>("turnCount"));
    }

    [Fact]
    public async Task Given_an_unparseable_if_match_When_posted_Then_400_names_if_match()
    {
        (await _api.AppendAsync(ApiClient.NewId(), new { role = "user", content = "x" }, "\"abc\"")).ExpectFieldError("If-Match");
    }
}
