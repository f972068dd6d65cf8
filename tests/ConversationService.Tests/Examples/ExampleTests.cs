using System.Net;
using ConversationService.Examples;
using ConversationService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ConversationService.Tests.Examples;

[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class ExampleTests(ServiceFixture fixture) : IDisposable
{
    private readonly ApiClient _api = fixture.Client();

    private ExampleQueries Queries => fixture.Factory.Services.GetRequiredService<ExampleQueries>();

    private Task<Reply> PutAsync(string id, object body, ApiClient? api = null) =>
        (api ?? _api).SendAsync(HttpMethod.Put, $"/examples/{id}", body);

    [Fact]
    public async Task Given_a_new_example_When_put_Then_201_and_get_returns_it()
    {
        var id = ApiClient.NewId("ex");
        var input = $"Translate 'good morning' to Portuguese {id}";

        var created = (await PutAsync(id, new { input, output = "Bom dia", task = "translate" })).Expect(HttpStatusCode.Created).Body;
        var read = (await _api.GetAsync($"/examples/{id}")).Expect(HttpStatusCode.OK).Body;

        Assert.Equal(created.ToJsonString(), read.ToJsonString());
        Assert.Equal((id, input, "Bom dia", "translate"), (read["id"]!.GetValue<string>(), read["input"]!.GetValue<string>(),
            read["output"]!.GetValue<string>(), read["task"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Given_an_example_When_put_again_Then_unchanged_stores_nothing_and_a_change_replaces_it()
    {
        var id = ApiClient.NewId("ex");
        var (before, after) = ($"Old input {id}", $"New input {id}");
        var first = (await PutAsync(id, new { input = before, output = "x" })).Expect(HttpStatusCode.Created).Body;

        var same = (await PutAsync(id, new { input = before, output = "x" })).Expect(HttpStatusCode.OK).Body;
        var changed = (await PutAsync(id, new { input = after, output = "y", task = "t2" })).Expect(HttpStatusCode.OK).Body;

        Assert.Equal(first["version"]!.GetValue<long>(), same["version"]!.GetValue<long>());
        Assert.Equal(first["version"]!.GetValue<long>() + 1, changed["version"]!.GetValue<long>());
        Assert.Equal(new FewShotExample(id, after, "y", "t2"), (await Queries.GetAsync("tenant-a", "t2", default)).Single(e => e.Id == id));
    }

    [Fact]
    public async Task Given_examples_of_several_tasks_When_queried_by_task_Then_only_that_tasks_come_back_and_the_list_pages()
    {
        var task = ApiClient.NewId("task");
        var ids = new[] { "q-" + task + "-3", "q-" + task + "-1", "q-" + task + "-2" };
        foreach (var id in ids)
        {
            (await PutAsync(id, new { input = "in " + id, output = "out " + id, task })).Expect(HttpStatusCode.Created);
        }
        (await PutAsync("other-" + task, new { input = "other", output = "other", task = "another-task" })).Expect(HttpStatusCode.Created);

        var examples = await Queries.GetAsync("tenant-a", task, default);
        var first = (await _api.GetAsync($"/examples?task={task}&limit=2")).Expect(HttpStatusCode.OK).Body;
        var second = (await _api.GetAsync($"/examples?task={task}&limit=2&after={first["nextAfter"]}")).Expect(HttpStatusCode.OK).Body;

        Assert.Equal(ids.Order(StringComparer.Ordinal), examples.Select(e => e.Id));
        Assert.All(examples, e => Assert.Equal(("in " + e.Id, "out " + e.Id, task), (e.Input, e.Output, e.Task)));
        Assert.Equal(ids.Order(StringComparer.Ordinal).Take(2), first["examples"]!.AsArray().Select(e => e!["id"]!.GetValue<string>()));
        Assert.Equal([ids.Order(StringComparer.Ordinal).Last()], second["examples"]!.AsArray().Select(e => e!["id"]!.GetValue<string>()));
        Assert.Null(second["nextAfter"]);
        Assert.Contains(await Queries.GetAsync("tenant-a", null, default), e => e.Id == "other-" + task);
    }

    [Fact]
    public async Task Given_a_deleted_example_Then_it_is_404_gone_from_queries_and_the_id_is_free()
    {
        var id = ApiClient.NewId("ex");
        var input = $"Delete me {id}";
        (await PutAsync(id, new { input, output = "gone" })).Expect(HttpStatusCode.Created);

        (await _api.SendAsync(HttpMethod.Delete, $"/examples/{id}")).Expect(HttpStatusCode.NoContent);

        (await _api.GetAsync($"/examples/{id}")).ExpectProblem(HttpStatusCode.NotFound);
        (await _api.SendAsync(HttpMethod.Delete, $"/examples/{id}")).ExpectProblem(HttpStatusCode.NotFound);
        Assert.DoesNotContain(await Queries.GetAsync("tenant-a", null, default), e => e.Id == id);
        (await PutAsync(id, new { input, output = "back" })).Expect(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Given_another_tenants_example_Then_it_is_404_never_listed_nor_queried()
    {
        using var tenantB = fixture.Client(ServiceFixture.TenantBKey);
        var id = ApiClient.NewId("ex");
        var task = ApiClient.NewId("task");
        (await PutAsync(id, new { input = "a's input", output = "a's output", task })).Expect(HttpStatusCode.Created);

        (await tenantB.GetAsync($"/examples/{id}")).ExpectProblem(HttpStatusCode.NotFound);
        (await tenantB.SendAsync(HttpMethod.Delete, $"/examples/{id}")).ExpectProblem(HttpStatusCode.NotFound);
        Assert.Empty((await tenantB.GetAsync($"/examples?task={task}")).Body["examples"]!.AsArray());
        Assert.Empty(await Queries.GetAsync("tenant-b", task, default));
        (await PutAsync(id, new { input = "b's own", output = "b" }, tenantB)).Expect(HttpStatusCode.Created);
        Assert.Equal("a's input", (await _api.GetAsync($"/examples/{id}")).Body["input"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("/examples/bad%20id", "{\"input\":\"i\",\"output\":\"o\"}", "exampleId")]
    [InlineData("/examples/e1", "{\"output\":\"o\"}", "input")]
    [InlineData("/examples/e1", "{\"input\":\"i\",\"output\":\" \"}", "output")]
    [InlineData("/examples/e1", "{\"input\":\"i\",\"output\":\"o\",\"task\":\"two words\"}", "task")]
    public async Task Given_invalid_input_When_an_example_is_put_Then_400_names_the_field(string path, string body, string field)
    {
        (await _api.SendRawAsync(HttpMethod.Put, path, body)).ExpectFieldError(field);
    }

    [Fact]
    public async Task Given_an_output_over_the_content_limit_When_put_Then_413_names_output()
    {
        (await PutAsync("huge", new { input = "i", output = new string('x', 1_048_577) }))
            .ExpectFieldError("output", HttpStatusCode.RequestEntityTooLarge);
    }

    [Theory]
    [InlineData("/examples/bad%20id", "exampleId")]
    [InlineData("/examples?task=bad%20task", "task")]
    [InlineData("/examples?limit=1001", "limit")]
    public async Task Given_invalid_parameters_When_read_Then_400_names_the_field(string path, string field)
    {
        (await _api.GetAsync(path)).ExpectFieldError(field);
    }

    public void Dispose() => _api.Dispose();
}
