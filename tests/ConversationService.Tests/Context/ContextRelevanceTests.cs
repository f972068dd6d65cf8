using System.Net;
using System.Text.Json.Nodes;
using ConversationService.Tests.Infrastructure;

namespace ConversationService.Tests.Context;

/// <summary>Recall, knowledge, examples and candidates through the context endpoints (GET and POST).</summary>
[Collection(ServiceCollection.Name)]
public sealed class ContextRelevanceTests(ServiceFixture fixture)
{
    private readonly ApiClient _api = fixture.Client();

    private static int Oracle(JsonNode reply, string model = "gpt-4o") => ContextOracle.Tokens(reply, model);

    private static JsonNode? Section(JsonNode reply, string kind) =>
        reply["sections"]!.AsArray().SingleOrDefault(s => s!["kind"]!.GetValue<string>() == kind);

    private static string[] Ids(JsonNode? section) =>
        section?["items"]!.AsArray().Select(i => i!["id"]!.GetValue<string>()).ToArray() ?? [];

    /// <summary>Eighty turns of small talk on 1 March 2024 with one turn about the support group among them.</summary>
    private async Task<string> LongConversationAsync(ApiClient? api = null)
    {
        var id = ApiClient.NewId();
        var start = new DateTimeOffset(2024, 3, 1, 10, 0, 0, TimeSpan.Zero);
        var turns = Enumerable.Range(1, 80).Select(i => new
        {
            id = $"t{i}",
            role = i % 2 == 1 ? "user" : "assistant",
            name = i % 2 == 1 ? "Caroline" : "Melanie",
            content = i == 11 ? "I went to the LGBTQ support group yesterday, it was so powerful."
                : $"Small talk {i} about the weather and what we had for lunch today.",
            occurredAt = start.AddDays(i / 40).AddMinutes(i),
        });
        (await (api ?? _api).AppendAsync(id, new { turns })).Expect(HttpStatusCode.Created);
        return id;
    }

    [Fact]
    public async Task Given_a_long_conversation_When_the_query_is_about_an_old_turn_Then_it_is_recalled_with_its_date_and_a_score()
    {
        var id = await LongConversationAsync();

        var reply = (await _api.GetContextAsync(id, "budget=400&query=" + Uri.EscapeDataString("When did Caroline go to the support group?")))
            .Expect(HttpStatusCode.OK).Body;

        var recalled = Section(reply, "recalled")!;
        var best = recalled["items"]!.AsArray().MaxBy(i => i!["score"]!.GetValue<double>())!;
        Assert.Equal("t11", best["id"]!.GetValue<string>());
        var messages = reply["messages"]!.AsArray();
        var material = messages.Select(m => m!["content"]!.GetValue<string>()).Single(c => c.StartsWith("Earlier messages", StringComparison.Ordinal));
        Assert.Contains("[1 March 2024]", material);
        Assert.Contains("Caroline: I went to the LGBTQ support group yesterday", material);
        Assert.Equal(["t79", "t80"], Ids(Section(reply, "recent"))[^2..]);
        Assert.Equal("Small talk 79 about the weather and what we had for lunch today.", messages[^2]!["content"]!.GetValue<string>());
        Assert.Equal(Oracle(reply), reply["tokens"]!.GetValue<int>());
        Assert.True(reply["tokens"]!.GetValue<int>() <= 400);
    }

    [Fact]
    public async Task Given_a_long_conversation_When_the_query_matches_nothing_Then_nothing_is_recalled_although_budget_is_left()
    {
        var id = await LongConversationAsync();

        var reply = (await _api.GetContextAsync(id, "budget=1000&query=quantum%20chromodynamics%20lattice")).Expect(HttpStatusCode.OK).Body;

        Assert.Null(Section(reply, "recalled"));
        Assert.True(reply["tokens"]!.GetValue<int>() < 500, "the recent share and the newest user turn only");
    }

    [Fact]
    public async Task Given_candidates_When_posted_Then_the_relevant_one_is_packed_into_knowledge_and_the_others_are_left_out()
    {
        var id = await LongConversationAsync();

        var reply = (await _api.SendAsync(HttpMethod.Post, $"/conversations/{id}/context", new
        {
            budget = 2000,
            query = "How long do refunds take?",
            candidates = new[]
            {
                new { id = "doc-1#0", text = "Refunds are paid within 14 days of the return reaching our warehouse." },
                new { id = "doc-2#0", text = "Our office dog is called Biscuit and loves tennis balls." },
            },
        })).Expect(HttpStatusCode.OK).Body;

        var knowledge = Section(reply, "knowledge")!;
        Assert.Equal(["doc-1#0"], Ids(knowledge));
        Assert.True(knowledge["items"]![0]!["score"]!.GetValue<double>() > 0);
        Assert.Contains(reply["messages"]!.AsArray(), m => m!["content"]!.GetValue<string>().StartsWith(
            "Relevant knowledge:\n\nRefunds are paid within 14 days", StringComparison.Ordinal));
        Assert.DoesNotContain("Biscuit", reply.ToJsonString());
        Assert.Equal(Oracle(reply), reply["tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Given_bad_context_bodies_When_posted_Then_400_names_the_field()
    {
        var id = await LongConversationAsync();
        var path = $"/conversations/{id}/context";

        (await _api.SendAsync(HttpMethod.Post, path, new
        {
            budget = 100,
            candidates = Enumerable.Range(0, 101).Select(i => new { id = $"c{i}", text = "x" }),
        })).ExpectFieldError("candidates");
        (await _api.SendAsync(HttpMethod.Post, path, new
        {
            budget = 100,
            candidates = new[] { new { id = "same", text = "a" }, new { id = "same", text = "b" } },
        })).ExpectFieldError("candidates[1].id");
        (await _api.SendAsync(HttpMethod.Post, path, new { budget = 100, candidates = new[] { new { id = "a", text = "" } } }))
            .ExpectFieldError("candidates[0].text");
        (await _api.SendAsync(HttpMethod.Post, path, new { budget = 100, recentShare = 1.5 })).ExpectFieldError("recentShare");
        (await _api.SendAsync(HttpMethod.Post, path, new { reserve = 1 })).ExpectFieldError("budget");
    }

    [Theory]
    [InlineData("budget=100&knowledgeShare=-0.1", "knowledgeShare")]
    [InlineData("budget=100&summaryShare=2", "summaryShare")]
    [InlineData("budget=100&examplesShare=1.01", "examplesShare")]
    [InlineData("budget=100&examples=21", "examples")]
    [InlineData("budget=100&task=bad%20task", "task")]
    [InlineData("budget=100&collections=a,b%20c", "collections")]
    public async Task Given_invalid_relevance_parameters_When_context_is_asked_Then_400_names_the_parameter(string query, string field)
    {
        var id = await LongConversationAsync();
        (await _api.GetContextAsync(id, query)).ExpectFieldError(field);
    }

    [Fact]
    public async Task Given_examples_of_two_tasks_When_k_and_task_are_asked_Then_at_most_k_similar_examples_of_that_task_are_served()
    {
        var task = "translate-" + Guid.NewGuid().ToString("N")[..8];
        foreach (var (exampleId, input, output, exampleTask) in new[]
        {
            ($"{task}-1", "Translate good morning to Portuguese", "Bom dia", task),
            ($"{task}-2", "Translate good night to Portuguese", "Boa noite", task),
            ($"{task}-3", "Translate thank you very much to Portuguese", "Muito obrigado", task),
            ($"{task}-other", "Translate good evening to Portuguese", "Boa tarde", task + "-other"),
        })
        {
            (await _api.SendAsync(HttpMethod.Put, $"/examples/{exampleId}", new { input, output, task = exampleTask })).Expect(HttpStatusCode.Created);
        }
        var id = ApiClient.NewId();
        (await _api.AppendTurnAsync(id, "user", "Translate good afternoon to Portuguese")).Expect(HttpStatusCode.Created);

        var two = (await _api.GetContextAsync(id, $"budget=2000&examples=2&task={task}")).Expect(HttpStatusCode.OK).Body;
        var none = (await _api.GetContextAsync(id, $"budget=2000&task={task}")).Expect(HttpStatusCode.OK).Body;

        var ids = Ids(Section(two, "examples"));
        Assert.Equal(2, ids.Length);
        Assert.All(ids, e => Assert.StartsWith(task + "-", e));
        Assert.DoesNotContain($"{task}-other", ids);
        Assert.Contains("Output: Bo", two["messages"]!.AsArray()[^2]!["content"]!.GetValue<string>());
        Assert.Null(Section(none, "examples"));
        Assert.Equal(Oracle(two), two["tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Given_collections_of_two_tenants_When_context_names_the_collection_Then_only_the_callers_relevant_chunks_are_served()
    {
        var collection = "policies-" + Guid.NewGuid().ToString("N")[..8];
        using var tenantB = fixture.Client(ServiceFixture.TenantBKey);
        (await _api.SendAsync(HttpMethod.Put, $"/collections/{collection}/documents/refunds",
            new { text = "Refunds are paid within 14 days of the return reaching our warehouse." })).Expect(HttpStatusCode.Created);
        (await _api.SendAsync(HttpMethod.Put, $"/collections/{collection}/documents/pets",
            new { text = "Our office dog is called Biscuit and loves tennis balls." })).Expect(HttpStatusCode.Created);
        (await tenantB.SendAsync(HttpMethod.Put, $"/collections/{collection}/documents/secret",
            new { text = "Tenant B secret: refunds for gold customers take 2 days." })).Expect(HttpStatusCode.Created);
        var id = ApiClient.NewId();
        (await _api.AppendTurnAsync(id, "user", "How many days do refunds take?")).Expect(HttpStatusCode.Created);

        var reply = (await _api.GetContextAsync(id, $"budget=2000&collections={collection}")).Expect(HttpStatusCode.OK).Body;
        var without = (await _api.GetContextAsync(id, "budget=2000")).Expect(HttpStatusCode.OK).Body;

        var ids = Ids(Section(reply, "knowledge"));
        Assert.Single(ids);
        Assert.StartsWith("refunds", ids[0]);
        Assert.DoesNotContain("Tenant B", reply.ToJsonString());
        Assert.DoesNotContain("Biscuit", reply.ToJsonString());
        Assert.Null(Section(without, "knowledge"));
    }

    [Fact]
    public async Task Given_examples_already_served_When_they_change_Then_the_next_context_serves_the_change()
    {
        var task = "greet-" + Guid.NewGuid().ToString("N")[..8];
        async Task PutAsync(string example, string input, string output) =>
            Assert.True((await _api.SendAsync(HttpMethod.Put, $"/examples/{example}", new { input, output, task })).Status
                is HttpStatusCode.Created or HttpStatusCode.OK);
        async Task<JsonNode> ContextAsync(string conversation) =>
            (await _api.GetContextAsync(conversation, $"budget=2000&examples=3&task={task}")).Expect(HttpStatusCode.OK).Body;
        await PutAsync($"{task}-1", "Translate good morning to Portuguese", "Bom dia");
        var id = ApiClient.NewId();
        (await _api.AppendTurnAsync(id, "user", "Translate good morning to Portuguese, please")).Expect(HttpStatusCode.Created);
        Assert.Contains("Bom dia", (await ContextAsync(id)).ToJsonString()); // the tenant's examples are now held

        await PutAsync($"{task}-1", "Translate good morning to Portuguese", "Bom dia!");
        var replaced = (await ContextAsync(id)).ToJsonString();
        await PutAsync($"{task}-2", "Translate good morning to Spanish", "Buenos dias");
        var added = await ContextAsync(id);
        (await _api.SendAsync(HttpMethod.Delete, $"/examples/{task}-1")).Expect(HttpStatusCode.NoContent);
        var deleted = await ContextAsync(id);

        Assert.Contains("Bom dia!", replaced);
        Assert.Equal([$"{task}-1", $"{task}-2"], Ids(Section(added, "examples")).Order(StringComparer.Ordinal));
        Assert.Equal([$"{task}-2"], Ids(Section(deleted, "examples")));
    }

    [Fact]
    public async Task Given_a_collection_already_served_When_its_documents_change_Then_the_next_context_serves_the_change()
    {
        var collection = "faq-" + Guid.NewGuid().ToString("N")[..8];
        async Task PutAsync(string doc, string text) =>
            Assert.True((await _api.SendAsync(HttpMethod.Put, $"/collections/{collection}/documents/{doc}", new { text })).Status
                is HttpStatusCode.Created or HttpStatusCode.OK);
        async Task<JsonNode> ContextAsync(string conversation) =>
            (await _api.GetContextAsync(conversation, $"budget=2000&collections={collection}")).Expect(HttpStatusCode.OK).Body;
        await PutAsync("refunds", "Refunds are paid within 14 days of the return reaching our warehouse.");
        var id = ApiClient.NewId();
        (await _api.AppendTurnAsync(id, "user", "How many days until refunds are paid?")).Expect(HttpStatusCode.Created);
        Assert.Contains("14 days", (await ContextAsync(id)).ToJsonString()); // the collection is now held by the replica

        await PutAsync("refunds", "Refunds are paid within 30 days of the return reaching our warehouse.");
        var replaced = (await ContextAsync(id)).ToJsonString();
        await PutAsync("express", "Express refunds are paid within 2 days for gold members.");
        var added = await ContextAsync(id);
        (await _api.SendAsync(HttpMethod.Delete, $"/collections/{collection}/documents/refunds")).Expect(HttpStatusCode.NoContent);
        var deleted = await ContextAsync(id);

        Assert.Contains("30 days", replaced);
        Assert.DoesNotContain("14 days", replaced);
        Assert.Equal(["express#1", "refunds#1"], Ids(Section(added, "knowledge")).Order(StringComparer.Ordinal));
        Assert.Equal(["express#1"], Ids(Section(deleted, "knowledge")));
        Assert.DoesNotContain("30 days", deleted.ToJsonString());
    }

    [Fact]
    public async Task Given_another_tenants_conversation_When_its_context_is_asked_by_GET_or_POST_Then_404()
    {
        var id = await LongConversationAsync();
        using var tenantB = fixture.Client(ServiceFixture.TenantBKey);

        (await tenantB.GetContextAsync(id, "budget=1000&query=support%20group")).ExpectProblem(HttpStatusCode.NotFound);
        (await tenantB.SendAsync(HttpMethod.Post, $"/conversations/{id}/context", new { budget = 1000, query = "support group" }))
            .ExpectProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Given_a_conversation_whose_context_was_cached_When_it_is_deleted_Then_its_context_is_404()
    {
        var id = await LongConversationAsync();
        (await _api.GetContextAsync(id, "budget=400&query=support%20group")).Expect(HttpStatusCode.OK);
        (await _api.DeleteConversationAsync(id)).Expect(HttpStatusCode.NoContent);

        (await _api.GetContextAsync(id, "budget=400&query=support%20group")).ExpectProblem(HttpStatusCode.NotFound);
        (await _api.SendAsync(HttpMethod.Post, $"/conversations/{id}/context", new { budget = 400 })).ExpectProblem(HttpStatusCode.NotFound);
    }
}
