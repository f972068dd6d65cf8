using System.Net;
using System.Text.Json;
using ConversationService.Conversations;
using ConversationService.Storage;
using ConversationService.Tests.Infrastructure;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using static ConversationService.Tests.Storage.StorageProbe;

namespace ConversationService.Tests.Storage;

/// <summary>
/// Appends from concurrent requests share Marten sessions and commits (<see cref="GroupCommit"/>). To make appends
/// share one for sure, the single writer's first commit is held behind a locked stream row while the next ones queue.
/// </summary>
[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class GroupCommitTests(ServiceFixture fixture) : IDisposable
{
    private readonly ApiClient _api = fixture.Client();

    private GroupCommit Commits => fixture.Factory.Services.GetRequiredService<GroupCommit>();

    private IDocumentStore Store => fixture.Store();

    [Fact]
    public async Task Given_appends_queued_behind_a_commit_When_one_is_stale_Then_it_alone_gets_false_and_the_rest_commit_in_one_transaction()
    {
        var (a, b, c, held) = (await NewConversationAsync(_api), await NewConversationAsync(_api), await NewConversationAsync(_api),
            await NewConversationAsync(_api));
        (await _api.AppendTurnAsync(b, "user", "moved on")).Expect(HttpStatusCode.Created);

        Task<bool> heldAppend, aAppend, bAppend, cAppend;
        var (connection, transaction) = await LockStreamAsync(fixture.ConnectionString, held);
        await using (connection)
        {
            heldAppend = Commits.AppendAsync(new StreamAppend(Tenant, held, 1, [Turn(1, "behind the lock")]), default);
            await WaitForLockWaitAsync(fixture.ConnectionString);
            aAppend = Commits.AppendAsync(new StreamAppend(Tenant, a, 1, [Turn(1, "a2")]), default);
            bAppend = Commits.AppendAsync(new StreamAppend(Tenant, b, 1, [Turn(1, "stale")]), default);
            cAppend = Commits.AppendAsync(new StreamAppend(Tenant, c, 1, [Turn(1, "c2")]), default);
            Assert.False(aAppend.IsCompleted || bAppend.IsCompleted || cAppend.IsCompleted);
            await transaction.RollbackAsync();
        }

        Assert.True(await heldAppend);
        Assert.True(await aAppend);
        Assert.False(await bAppend);
        Assert.True(await cAppend);
        Assert.Equal(1, await TransactionsAsync(fixture.ConnectionString, [a, c], version: 2));
        Assert.Equal(["moved on"], (await StreamAsync(Store, b)).Select(e => e.Data).OfType<TurnAppended>().Select(t => t.Content));
        foreach (var (id, content) in new[] { (a, "a2"), (b, "moved on"), (c, "c2"), (held, "behind the lock") })
        {
            var (view, turns) = await DocumentsAsync(Store, id);
            Assert.Equal((2L, 1), (view!.Version, view.TurnCount));
            Assert.Equal([content], turns.Select(t => t.Content));
        }
    }

    [Fact]
    public async Task Given_appends_sharing_a_commit_When_PostgreSQL_refuses_the_projection_of_one_Then_only_its_caller_gets_the_error()
    {
        var (ok, repeated, held) = (await NewConversationAsync(_api), await NewConversationAsync(_api), await NewConversationAsync(_api));
        (await _api.AppendTurnAsync(repeated, "user", "first", "t-1")).Expect(HttpStatusCode.Created);

        Task<bool> heldAppend, okAppend, repeatedAppend;
        var (connection, transaction) = await LockStreamAsync(fixture.ConnectionString, held);
        await using (connection)
        {
            heldAppend = Commits.AppendAsync(new StreamAppend(Tenant, held, 1, [Turn(1, "behind the lock")]), default);
            await WaitForLockWaitAsync(fixture.ConnectionString);
            // The turn id is stored already: the turn document's unique index refuses it, in the shared transaction.
            repeatedAppend = Commits.AppendAsync(new StreamAppend(Tenant, repeated, 2, [Turn(2, "again", turnId: "t-1")]), default);
            okAppend = Commits.AppendAsync(new StreamAppend(Tenant, ok, 1, [Turn(1, "second")]), default);
            await transaction.RollbackAsync();
        }

        Assert.True(await heldAppend);
        Assert.True(await okAppend);
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => repeatedAppend);
        var unique = Assert.IsType<PostgresException>(Chain(refused).First(e => e is PostgresException));
        Assert.Equal((PostgresErrorCodes.UniqueViolation, true),
            (unique.SqlState, unique.ConstraintName!.Contains(ConversationProjection.TurnIdIndex, StringComparison.Ordinal)));
        Assert.Equal(2, (await StreamAsync(Store, repeated)).Count);
        Assert.Equal(2, (await StreamAsync(Store, ok)).Count);
        Assert.Equal(["second"], (await DocumentsAsync(Store, ok)).Turns.Select(t => t.Content));
    }

    [Fact]
    public async Task Given_appends_sharing_a_commit_When_one_event_cannot_be_serialized_Then_its_caller_alone_fails_and_nothing_of_it_is_stored()
    {
        var (ok1, broken, ok2, held) = (await NewConversationAsync(_api), await NewConversationAsync(_api),
            await NewConversationAsync(_api), await NewConversationAsync(_api));

        Task<bool> heldAppend, ok1Append, brokenAppend, ok2Append;
        var (connection, transaction) = await LockStreamAsync(fixture.ConnectionString, held);
        await using (connection)
        {
            heldAppend = Commits.AppendAsync(new StreamAppend(Tenant, held, 1, [Turn(1, "behind the lock")]), default);
            await WaitForLockWaitAsync(fixture.ConnectionString);
            ok1Append = Commits.AppendAsync(new StreamAppend(Tenant, ok1, 1, [Turn(1, "second")]), default);
            // A JsonElement that holds nothing: System.Text.Json refuses to write it while Marten builds the batch.
            brokenAppend = Commits.AppendAsync(new StreamAppend(Tenant, broken, 1, [Turn(1, "broken", metadata: default(JsonElement))]), default);
            ok2Append = Commits.AppendAsync(new StreamAppend(Tenant, ok2, 1, [Turn(1, "second")]), default);
            await transaction.RollbackAsync();
        }

        Assert.True(await heldAppend);
        await Assert.ThrowsAsync<InvalidOperationException>(() => brokenAppend);
        Assert.True(await ok1Append);
        Assert.True(await ok2Append);
        Assert.Single(await StreamAsync(Store, broken));
        Assert.Equal((1L, 0), ((await DocumentsAsync(Store, broken)).View!.Version, (await DocumentsAsync(Store, broken)).View!.TurnCount));
        Assert.Equal(2, (await StreamAsync(Store, ok1)).Count);
        Assert.Equal(2, (await StreamAsync(Store, ok2)).Count);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)] // commits of the same streams at once: a group's row locks must not deadlock another's
    public async Task Given_many_concurrent_appends_on_many_streams_Then_each_is_stored_once_in_order_and_projected(int writers)
    {
        await using var host = fixture.CreateFactory(new Dictionary<string, string?> { ["EventStore:AppendWriters"] = writers.ToString() });
        var commits = host.Services.GetRequiredService<GroupCommit>();
        const int streams = 24, rounds = 20;
        var ids = new List<string>();
        for (var s = 0; s < streams; s++)
        {
            ids.Add(await NewConversationAsync(_api));
        }

        await Task.WhenAll(ids.Select(id => Task.Run(async () =>
        {
            for (var index = 1; index <= rounds; index++)
            {
                Assert.True(await commits.AppendAsync(new StreamAppend(Tenant, id, index, [Turn(index, $"n{index}")]), default));
            }
        })));

        var expected = Enumerable.Range(1, rounds).Select(i => $"n{i}").ToList();
        foreach (var id in ids)
        {
            var stream = await StreamAsync(Store, id);
            Assert.Equal(Enumerable.Range(1, rounds + 1).Select(v => (long)v), stream.Select(e => e.Version));
            Assert.Equal(expected, stream.Select(e => e.Data).OfType<TurnAppended>().Select(t => t.Content));
            var (view, turns) = await DocumentsAsync(Store, id);
            Assert.Equal((rounds + 1L, rounds), (view!.Version, view.TurnCount));
            Assert.Equal(expected, turns.Select(t => t.Content));
        }
    }

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (var current = e; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }

    public void Dispose() => _api.Dispose();
}
