using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using ConversationService.Conversations;
using ConversationService.Storage;
using ConversationService.Summaries;
using ConversationService.Tests.Infrastructure;
using JasperFx.Events;
using Marten;
using Marten.Events;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using static ConversationService.Tests.Storage.StorageProbe;

namespace ConversationService.Tests.Storage;

/// <summary>
/// Every replica follows the log itself for what it must see of it (<see cref="ReplicaTail"/>; deletions, for its
/// caches), whichever replica runs Marten's daemon: each gets every event of its types once, in sequence order, with
/// none skipped, not even one that commits after later ones.
/// </summary>
[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class ReplicaTailTests(ServiceFixture fixture) : IDisposable
{
    private readonly ApiClient _api = fixture.Client();

    [Fact]
    public async Task Given_two_replicas_When_conversations_are_deleted_on_either_in_two_tenants_Then_each_replica_gets_every_deletion_in_order()
    {
        await using var first = Replica();
        await using var second = Replica();
        using var tenantB = fixture.Client(ServiceFixture.TenantBKey);
        var (a, b, c) = (await NewConversationAsync(_api), await NewConversationAsync(tenantB), await NewConversationAsync(_api));

        (await _api.DeleteConversationAsync(a)).Expect(HttpStatusCode.NoContent);
        (await tenantB.DeleteConversationAsync(b)).Expect(HttpStatusCode.NoContent);
        (await ClientOf(second).DeleteConversationAsync(c)).Expect(HttpStatusCode.NoContent);

        var stored = await DeletionsAsync(a, b, c);
        Assert.Equal(6, stored.Count); // each conversation's stream and its summary stream
        foreach (var replica in new[] { first, second })
        {
            var recorded = replica.Services.GetRequiredService<RecordedDeletions>();
            await WaitAsync(() => recorded.Of(a, b, c).Count >= stored.Count, "every deletion reaches the replica");
            Assert.Equal(stored, recorded.Of(a, b, c));
        }
    }

    [Fact]
    public async Task Given_a_deletion_stored_just_before_a_replica_starts_When_it_starts_Then_it_is_handed_over_too()
    {
        var id = await NewConversationAsync(_api);
        (await _api.DeleteConversationAsync(id)).Expect(HttpStatusCode.NoContent);

        await using var late = Replica();
        var recorded = late.Services.GetRequiredService<RecordedDeletions>();

        var stored = await DeletionsAsync(id);
        await WaitAsync(() => recorded.Of(id).Count >= stored.Count, "the deletion stored before the start reaches the replica");
        Assert.Equal(stored, recorded.Of(id));
    }

    [Fact]
    public async Task Given_a_deletion_whose_commit_waits_When_a_later_deletion_commits_first_Then_the_replica_gets_both_in_sequence_order()
    {
        await using var replica = Replica();
        var recorded = replica.Services.GetRequiredService<RecordedDeletions>();
        var (slow, fast) = (await NewConversationAsync(_api), await NewConversationAsync(_api));

        Task<Reply> slowDelete;
        var (connection, transaction) = await LockDocumentAsync(fixture.ConnectionString, slow);
        await using (connection)
        {
            // Its events take their sequence numbers, then the commit waits for the locked document row.
            slowDelete = _api.DeleteConversationAsync(slow);
            await WaitForLockWaitAsync(fixture.ConnectionString);
            (await _api.DeleteConversationAsync(fast)).Expect(HttpStatusCode.NoContent);
            await Task.Delay(1_000);
            Assert.Empty(recorded.Of(slow, fast));
            await transaction.RollbackAsync();
        }
        (await slowDelete).Expect(HttpStatusCode.NoContent);

        var stored = await DeletionsAsync(slow, fast);
        // The slow deletion's first event holds the lowest sequence number of the four, and committed last.
        Assert.Equal(4, stored.Count);
        Assert.Equal(slow, stored[0].Stream);
        await WaitAsync(() => recorded.Of(slow, fast).Count >= stored.Count, "both deletions reach the replica");
        Assert.Equal(stored, recorded.Of(slow, fast));
    }

    /// <summary>Another replica over the same database, recording the deletions its tail hands over; started.</summary>
    private WebApplicationFactory<Program> Replica()
    {
        var replica = fixture.CreateFactory(new Dictionary<string, string?>())
            .WithWebHostBuilder(web => web.ConfigureTestServices(services => services.AddReplicaSubscription<RecordedDeletions>()));
        _ = replica.Services;
        return replica;
    }

    private static ApiClient ClientOf(WebApplicationFactory<Program> replica)
    {
        var http = replica.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", ServiceFixture.TenantAKey);
        return new ApiClient(http);
    }

    /// <summary>The stored deletions of the conversations (and their summary streams), in sequence order.</summary>
    private async Task<List<Deletion>> DeletionsAsync(params string[] conversations)
    {
        var streams = conversations.Concat(conversations.Select(SummaryStream.Id)).ToArray();
        await using var session = fixture.Store().QuerySession();
        var events = await session.Events.QueryAllRawEvents()
            .Where(e => e.AnyTenant() && e.EventTypesAre(typeof(ConversationDeleted)) && streams.Contains(e.StreamKey!))
            .OrderBy(e => e.Sequence)
            .ToListAsync();
        return [.. events.Select(Deletion.Of)];
    }

    private static async Task WaitAsync(Func<bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!done())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"Timed out waiting until {what}.");
            await Task.Delay(50);
        }
    }

    public void Dispose() => _api.Dispose();
}

public sealed record Deletion(long Sequence, string Tenant, string Stream)
{
    public static Deletion Of(IEvent e) => new(e.Sequence, e.TenantId, e.StreamKey!);
}

/// <summary>The deletions a replica's tail handed over, in the order it did.</summary>
public sealed class RecordedDeletions : IReplicaSubscription
{
    private readonly ConcurrentQueue<IEvent> _seen = new();

    public IReadOnlyCollection<Type> EventTypes => [typeof(ConversationDeleted)];

    public void Handle(IReadOnlyList<IEvent> events)
    {
        foreach (var e in events)
        {
            _seen.Enqueue(e);
        }
    }

    /// <summary>Those of the given conversations (either of their streams).</summary>
    public List<Deletion> Of(params string[] conversations) =>
        [.. _seen.Where(e => conversations.Contains(SummaryStream.ConversationIdOf(e.StreamKey!))).Select(Deletion.Of)];
}
