using System.Net;
using System.Text.Json.Nodes;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Context;

[Collection(ServiceCollection.Name)]
public sealed class GetContextTests(ServiceFixture fixture)
{
    private readonly ApiClient _api = fixture.Client();

    private static int Oracle(JsonNode reply, string model = "gpt-4o") => ContextOracle.Tokens(reply, model);

    private async Task<string> ConversationAsync(string? systemPrompt, params (string Role, string Content)[] turns)
    {
        var id = ApiClient.NewId();
        await _api.PutConversationAsync(id, new { systemPrompt });
        (await _api.AppendAsync(id, new { turns = turns.Select((t, i) => new { id = $"t{i + 1}", role = t.Role, content = t.Content }) }))
            .Expect(HttpStatusCode.Created);
        return id;
    }

    [Fact]
    public async Task Given_a_short_conversation_When_the_budget_is_large_Then_everything_is_returned_in_order_with_exact_tokens()
    {
        var id = await ConversationAsync("You are helpful.",
            ("user", "Hi"), ("assistant", "Hello! How can I help?"), ("user", "What is 2+2?"));

        var reply = (await _api.GetContextAsync(id, "budget=8000")).Expect(HttpStatusCode.OK).Body;

        Assert.Equal(id, reply["conversationId"]!.GetValue<string>());
        Assert.Equal(4, reply["version"]!.GetValue<long>());
        Assert.Equal("gpt-4o", reply["model"]!.GetValue<string>());
        Assert.Equal("o200k_base", reply["encoding"]!.GetValue<string>());
        Assert.Equal(8000, reply["budget"]!.GetValue<int>());
        Assert.Equal(["system", "user", "assistant", "user"], reply["messages"]!.AsArray().Select(m => m!["role"]!.GetValue<string>()));
        Assert.Equal("What is 2+2?", reply["messages"]![3]!["content"]!.GetValue<string>());
        Assert.Equal(Oracle(reply, "gpt-4o"), reply["tokens"]!.GetValue<int>());
        Assert.Equal(reply["tokens"]!.GetValue<long>(), reply["fullHistoryTokens"]!.GetValue<long>());
        var sections = reply["sections"]!.AsArray();
        Assert.Equal(["system", "recent"], sections.Select(s => s!["kind"]!.GetValue<string>()));
        Assert.Equal(["t1", "t2", "t3"], sections[1]!["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()));
        Assert.Equal(reply["tokens"]!.GetValue<int>() - 3, sections.Sum(s => s!["tokens"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Given_a_long_conversation_When_context_is_asked_across_many_budgets_Then_tokens_are_exact_and_within_budget_minus_reserve()
    {
        var random = new Random(42);
        var words = "the quick brown fox jumps over lazy dogs while 42 robots compute π ≈ 3.14159 and émigrés sip café".Split(' ');
        var turns = Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? "user" : "assistant",
            string.Join(' ', Enumerable.Range(0, random.Next(1, 80)).Select(_ => words[random.Next(words.Length)])))).ToArray();
        var id = await ConversationAsync("You answer questions about foxes.", turns);
        var full = (await _api.GetContextAsync(id, "budget=2000000")).Body["fullHistoryTokens"]!.GetValue<int>();
        var newestUser = turns[^2].Item2;

        var previous = 0;
        for (var budget = 40; budget <= full + 50; budget += Math.Max(7, full / 30))
        {
            foreach (var reserve in new[] { 0, 10 })
            {
                if (reserve >= budget)
                {
                    continue;
                }
                var reply = await _api.GetContextAsync(id, $"budget={budget}&reserve={reserve}");
                if (reply.Status == HttpStatusCode.UnprocessableEntity)
                {
                    continue; // too small for the system prompt and the newest user turn: checked elsewhere
                }
                var body = reply.Expect(HttpStatusCode.OK).Body;
                var tokens = body["tokens"]!.GetValue<int>();
                Assert.Equal(Oracle(body, "gpt-4o"), tokens);
                Assert.True(tokens <= budget - reserve, $"{tokens} > {budget} - {reserve}");
                var messages = body["messages"]!.AsArray();
                Assert.Equal("system", messages[0]!["role"]!.GetValue<string>());
                var userMessages = messages.Where(m => m!["role"]!.GetValue<string>() == "user").ToArray();
                Assert.StartsWith(userMessages[^1]!["content"]!.GetValue<string>(), newestUser);
                if (reserve == 0)
                {
                    Assert.True(tokens >= previous, "a larger budget never yields a smaller window");
                    previous = tokens;
                }
            }
        }
        var exact = (await _api.GetContextAsync(id, $"budget={full}")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal(full, exact["tokens"]!.GetValue<int>());
        Assert.Equal(40, exact["sections"]![1]!["items"]!.AsArray().Count);
    }

    [Fact]
    public async Task Given_a_newest_user_turn_larger_than_the_budget_When_context_is_asked_Then_it_is_cut_at_a_token_boundary()
    {
        var longTurn = string.Join(' ', Enumerable.Range(0, 2_000).Select(i => $"word{i}"));
        var id = await ConversationAsync("Be brief.", ("user", "earlier"), ("assistant", "ok"), ("user", longTurn));

        var reply = (await _api.GetContextAsync(id, "budget=300&reserve=50")).Expect(HttpStatusCode.OK).Body;

        var messages = reply["messages"]!.AsArray();
        Assert.Equal(2, messages.Count);
        var cut = messages[1]!["content"]!.GetValue<string>();
        Assert.True(cut.Length > 0 && cut.Length < longTurn.Length);
        Assert.StartsWith(cut, longTurn);
        Assert.Equal(Oracle(reply, "gpt-4o"), reply["tokens"]!.GetValue<int>());
        Assert.True(reply["tokens"]!.GetValue<int>() <= 250);
        Assert.True(reply["tokens"]!.GetValue<int>() >= 245, "the cut uses the room that is left");
    }

    [Fact]
    public async Task Given_a_system_prompt_larger_than_the_budget_When_context_is_asked_Then_422_problem()
    {
        var id = await ConversationAsync(string.Join(' ', Enumerable.Repeat("rule", 300)), ("user", "hello"));

        var problem = (await _api.GetContextAsync(id, "budget=100")).ExpectProblem(HttpStatusCode.UnprocessableEntity);

        Assert.True(problem["requiredTokens"]!.GetValue<int>() > 100);
    }

    [Fact]
    public async Task Given_a_reserve_that_leaves_no_room_for_the_newest_user_turn_When_context_is_asked_Then_422()
    {
        var id = await ConversationAsync("Be brief.", ("user", "hello"));
        (await _api.GetContextAsync(id, "budget=20&reserve=15")).ExpectProblem(HttpStatusCode.UnprocessableEntity);
    }

    [Fact]
    public async Task Given_a_gpt4o_conversation_When_context_is_asked_for_gpt4_Then_it_is_counted_in_cl100k_exactly()
    {
        var id = await ConversationAsync("Système: réponds en français 🤖.",
            ("user", "Bonjour, ça va ? 12345 67890"), ("assistant", "Très bien, merci ! Et vous ?"), ("user", "Parfait — naïveté."));

        var first = (await _api.GetContextAsync(id, "budget=5000&model=gpt-4")).Expect(HttpStatusCode.OK).Body;
        var cached = (await _api.GetContextAsync(id, "budget=5000&model=gpt-4")).Expect(HttpStatusCode.OK).Body;

        Assert.Equal("cl100k_base", first["encoding"]!.GetValue<string>());
        Assert.Equal("gpt-4", first["model"]!.GetValue<string>());
        Assert.Equal(Oracle(first, "gpt-4"), first["tokens"]!.GetValue<int>());
        Assert.Equal(first["tokens"]!.GetValue<int>(), first["fullHistoryTokens"]!.GetValue<int>());
        Assert.Equal(first.ToJsonString(), cached.ToJsonString());
    }

    [Theory]
    [InlineData("", "budget")]
    [InlineData("budget=0", "budget")]
    [InlineData("budget=2000001", "budget")]
    [InlineData("budget=100&reserve=100", "reserve")]
    [InlineData("budget=100&reserve=-1", "reserve")]
    [InlineData("budget=100&model=no-such-model", "model")]
    public async Task Given_invalid_parameters_When_context_is_asked_Then_400_names_the_parameter(string query, string field)
    {
        var id = await ConversationAsync(null, ("user", "hello"));
        (await _api.GetContextAsync(id, query)).ExpectFieldError(field);
    }

    [Fact]
    public async Task Given_a_budget_that_is_not_a_number_When_context_is_asked_Then_400_problem()
    {
        var id = await ConversationAsync(null, ("user", "hello"));
        (await _api.GetContextAsync(id, "budget=lots")).ExpectProblem(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Given_the_largest_budget_When_context_is_asked_Then_200()
    {
        var id = await ConversationAsync(null, ("user", "hello"));
        (await _api.GetContextAsync(id, "budget=2000000&reserve=1000")).Expect(HttpStatusCode.OK);
    }
}
