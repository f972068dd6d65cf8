using System.Net;
using System.Net.Http.Headers;
using ConversationService.Context;
using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ConversationService.Tests.Conversations;

/// <summary>Two replicas over one database; what each holds in memory is read through its container.</summary>
[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class DeletionEvictionTests(ServiceFixture fixture)
{
    private const string Tenant = "tenant-a";

    [Fact]
    public async Task Given_a_conversation_cached_on_two_replicas_When_it_is_deleted_on_one_Then_no_cache_of_either_replica_holds_it()
    {
        await using var other = fixture.CreateFactory(new Dictionary<string, string?>());
        WebApplicationFactory<Program>[] replicas = [fixture.Factory, other];
        var id = ApiClient.NewId();
        foreach (var replica in replicas)
        {
            using var api = Client(replica);
            (await api.AppendTurnAsync(id, "user", $"Where should I stay in Lisbon? Asked on replica {Array.IndexOf(replicas, replica)}."))
                .Expect(HttpStatusCode.Created);
        }
        foreach (var replica in replicas)
        {
            using var api = Client(replica);
            (await api.GetContextAsync(id, "budget=4000")).Expect(HttpStatusCode.OK);
            // Another encoding than the conversation's: the turns are counted again and the counts kept.
            (await api.GetContextAsync(id, "budget=4000&model=gpt-4")).Expect(HttpStatusCode.OK);
        }
        Assert.All(replicas, replica => Assert.Equal(Everything, Held(replica, id)));

        using (var api = Client(replicas[0]))
        {
            (await api.DeleteConversationAsync(id)).Expect(HttpStatusCode.NoContent);
        }

        Assert.Equal(Nothing, Held(replicas[0], id));
        await UntilAsync(() => Held(replicas[1], id) == Nothing, "the other replica forgets the conversation");
    }

    [Fact]
    public async Task Given_a_collection_and_examples_cached_on_two_replicas_When_a_document_and_an_example_are_deleted_Then_neither_replica_holds_them()
    {
        await using var other = fixture.CreateFactory(new Dictionary<string, string?>());
        WebApplicationFactory<Program>[] replicas = [fixture.Factory, other];
        var (id, collection, example, task) = (ApiClient.NewId(), ApiClient.NewId("col"), ApiClient.NewId("ex"), ApiClient.NewId("task"));
        using (var api = Client(replicas[0]))
        {
            (await api.AppendTurnAsync(id, "user", "Which district is quiet at night?")).Expect(HttpStatusCode.Created);
            (await api.SendAsync(HttpMethod.Put, $"/collections/{collection}/documents/lisbon",
                new { text = "Alfama is the oldest district of Lisbon, quiet after dark." })).Expect(HttpStatusCode.Created);
            (await api.SendAsync(HttpMethod.Put, $"/examples/{example}",
                new { input = "Translate: good evening", output = "Boa noite", task })).Expect(HttpStatusCode.Created);
        }
        foreach (var replica in replicas)
        {
            using var api = Client(replica);
            (await api.GetContextAsync(id, $"budget=4000&collections={collection}&examples=1&task={task}")).Expect(HttpStatusCode.OK);
            Assert.True(replica.Services.GetRequiredService<KnowledgeIndexCache>().Holds(Tenant, collection));
            Assert.True(replica.Services.GetRequiredService<ExampleIndexCache>().Holds(Tenant));
        }

        using (var api = Client(replicas[1]))
        {
            (await api.SendAsync(HttpMethod.Delete, $"/collections/{collection}/documents/lisbon")).Expect(HttpStatusCode.NoContent);
            (await api.SendAsync(HttpMethod.Delete, $"/examples/{example}")).Expect(HttpStatusCode.NoContent);
        }

        foreach (var replica in replicas)
        {
            await UntilAsync(
                () => !replica.Services.GetRequiredService<KnowledgeIndexCache>().Holds(Tenant, collection)
                    && !replica.Services.GetRequiredService<ExampleIndexCache>().Holds(Tenant),
                "the replica forgets the deleted document's collection and the tenant's examples");
        }
    }

    private static readonly HeldCopies Everything = new(Snapshot: true, Index: true, Answers: true, Counts: true, WriteState: true);
    private static readonly HeldCopies Nothing = new(Snapshot: false, Index: false, Answers: false, Counts: false, WriteState: false);

    /// <summary>Which of the replica's in-memory stores hold anything of the conversation.</summary>
    private sealed record HeldCopies(bool Snapshot, bool Index, bool Answers, bool Counts, bool WriteState);

    private static HeldCopies Held(WebApplicationFactory<Program> replica, string id)
    {
        var services = replica.Services;
        return new HeldCopies(
            Snapshot: services.GetRequiredService<ConversationSnapshots>().Get(Tenant, id) is not null,
            Index: services.GetRequiredService<ConversationIndexCache>().Holds(Tenant, id),
            Answers: services.GetRequiredService<ContextResponseCache>().Count(Tenant, id) > 0,
            Counts: services.GetRequiredService<ModelTokenizers>().CountsHeld(Tenant, id) > 0,
            WriteState: services.GetRequiredService<ConversationWriter>().KnownState(Tenant, id) is not null);
    }

    /// <summary>Another replica learns of a deletion at its next poll of the log (EventStore:PollInterval).</summary>
    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}.");
            await Task.Delay(20);
        }
    }

    private static ApiClient Client(WebApplicationFactory<Program> replica)
    {
        var client = replica.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServiceFixture.TenantAKey);
        return new ApiClient(client);
    }
}
