using System.Net;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Conversations;

[Collection(ServiceCollection.Name)]
public sealed class GetTurnsTests(ServiceFixture fixture)
{
    private readonly ApiClient _api = fixture.Client();

    [Fact]
    public async Task Given_5_turns_When_paged_by_2_Then_pages_follow_after_and_the_last_has_no_next()
    {
        var id = ApiClient.NewId();
        await _api.AppendAsync(id, new
        {
            turns = Enumerable.Range(1, 5).Select(i => new { id = $"t{i}", role = i % 2 == 1 ? "user" : "assistant", content = $"turn {i}", name = i == 1 ? "bob" : null }),
        });

        var first = (await _api.GetTurnsAsync(id, "?after=0&limit=2")).Expect(HttpStatusCode.OK);
        var second = (await _api.GetTurnsAsync(id, "?after=2&limit=2")).Expect(HttpStatusCode.OK);
        var last = (await _api.GetTurnsAsync(id, "?after=4&limit=2")).Expect(HttpStatusCode.OK);

        Assert.Equal(["t1", "t2"], first.Body["turns"]!.AsArray().Select(t => t!["id"]!.GetValue<string>()));
        Assert.Equal(2, first.Get<int>("nextAfter"));
        Assert.Equal(["t3", "t4"], second.Body["turns"]!.AsArray().Select(t => t!["id"]!.GetValue<string>()));
        Assert.Equal(["t5"], last.Body["turns"]!.AsArray().Select(t => t!["id"]!.GetValue<string>()));
        Assert.False(last.Body.AsObject().ContainsKey("nextAfter"));
        var turn = first.Body["turns"]![0]!;
        Assert.Equal(1, turn["index"]!.GetValue<int>());
        Assert.Equal("user", turn["role"]!.GetValue<string>());
        Assert.Equal("turn 1", turn["content"]!.GetValue<string>());
        Assert.Equal("bob", turn["name"]!.GetValue<string>());
        Assert.True(turn["tokens"]!.GetValue<int>() > 0);
        Assert.NotNull(turn["occurredAt"]);
    }

    [Fact]
    public async Task Given_no_paging_parameters_When_get_Then_the_first_page_is_returned()
    {
        var id = ApiClient.NewId();
        await _api.AppendTurnAsync(id, "user", "hello");
        var page = (await _api.GetTurnsAsync(id)).Expect(HttpStatusCode.OK);
        Assert.Single(page.Body["turns"]!.AsArray());
    }

    [Theory]
    [InlineData("?limit=0", "limit")]
    [InlineData("?limit=1001", "limit")]
    [InlineData("?after=-1", "after")]
    public async Task Given_bad_paging_When_get_Then_400_names_the_parameter(string query, string field)
    {
        var id = ApiClient.NewId();
        await _api.AppendTurnAsync(id, "user", "hello");
        (await _api.GetTurnsAsync(id, query)).ExpectFieldError(field);
    }

    [Fact]
    public async Task Given_a_non_numeric_limit_When_get_Then_400_problem()
    {
        (await _api.GetTurnsAsync(ApiClient.NewId(), "?limit=abc")).ExpectProblem(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Given_an_unknown_conversation_When_get_turns_Then_404()
    {
        (await _api.GetTurnsAsync(ApiClient.NewId())).ExpectProblem(HttpStatusCode.NotFound);
    }
}
