using System.Net;
using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Marten;

namespace ConversationService.Tests.Conversations;

/// <summary>
/// The context endpoint reads turns through per-replica snapshots. Another replica (a second host over the same
/// database) writes behind the first one's back, so every test proves the snapshot is validated, not trusted.
/// </summary>
[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class ConversationSnapshotsTests(ServiceFixture fixture)
{
    private readonly ApiClient _api = fixture.Client();

    private ConversationSnapshots Snapshots => fixture.Factory.Services.GetRequiredService<ConversationSnapshots>();

    private static string[] Contents(Reply context) =>
        [.. context.Body["messages"]!.AsArray().Select(m => m!["content"]!.GetValue<string>())];

    private async Task<string> ConversationAsync(params string[] contents)
    {
        var id = ApiClient.NewId();
        (await _api.AppendAsync(id, new { turns = contents.Select((c, i) => new { role = i % 2 == 0 ? "user" : "assistant", content = c }) }))
            .Expect(HttpStatusCode.Created);
        return id;
    }

    [Fact]
    public async Task Given_a_cached_conversation_When_another_replica_appends_Then_the_next_context_has_the_new_turns()
    {
        var id = await ConversationAsync("one", "two", "three");
        (await _api.GetContextAsync(id, "budget=8000")).Expect(HttpStatusCode.OK);
        Assert.Equal(3, Snapshots.Get("tenant-a", id)?.Count);

        await fixture.OnAnotherReplicaAsync(api => api.AppendAsync(id, new { turns = new[] { new { role = "assistant", content = "four" }, new { role = "user", content = "five" } } }));
        var context = (await _api.GetContextAsync(id, "budget=8000")).Expect(HttpStatusCode.OK);

        Assert.Equal(["one", "two", "three", "four", "five"], Contents(context));
        Assert.Equal(6, context.Get<long>("version"));
        Assert.Equal(5, Snapshots.Get("tenant-a", id)?.Count);
    }

    [Fact]
    public async Task Given_a_cached_conversation_When_another_replica_deletes_it_Then_context_is_404_and_the_snapshot_is_gone()
    {
        var id = await ConversationAsync("secret plan", "noted");
        (await _api.GetContextAsync(id, "budget=8000")).Expect(HttpStatusCode.OK);

        await fixture.OnAnotherReplicaAsync(api => api.DeleteConversationAsync(id));
        var context = await _api.GetContextAsync(id, "budget=8000");

        Assert.Equal(HttpStatusCode.NotFound, context.Status);
        Assert.DoesNotContain("secret plan", context.Text);
        Assert.Null(Snapshots.Get("tenant-a", id));
    }

    [Fact]
    public async Task Given_a_cached_conversation_When_this_replica_deletes_it_Then_its_snapshot_is_dropped_at_once()
    {
        var id = await ConversationAsync("forget me");
        (await _api.GetContextAsync(id, "budget=8000")).Expect(HttpStatusCode.OK);

        (await _api.DeleteConversationAsync(id)).Expect(HttpStatusCode.NoContent);
        var contents = await fixture.Factory.Services.GetRequiredService<ConversationQueries>()
            .GetContentsAsync("tenant-a", id, [1], default);

        Assert.Null(Snapshots.Get("tenant-a", id));
        Assert.Empty(contents);
    }

    [Fact]
    public async Task Given_the_same_conversation_id_in_two_tenants_When_both_read_context_Then_each_sees_only_its_own_turns()
    {
        var id = ApiClient.NewId();
        using var tenantB = fixture.Client(ServiceFixture.TenantBKey);
        await _api.AppendTurnAsync(id, "user", "tenant A's question");
        await tenantB.AppendTurnAsync(id, "user", "tenant B's question");

        for (var round = 0; round < 2; round++)
        {
            Assert.Equal(["tenant A's question"], Contents((await _api.GetContextAsync(id, "budget=8000")).Expect(HttpStatusCode.OK)));
            Assert.Equal(["tenant B's question"], Contents((await tenantB.GetContextAsync(id, "budget=8000")).Expect(HttpStatusCode.OK)));
        }
        (await tenantB.DeleteConversationAsync(id)).Expect(HttpStatusCode.NoContent);

        Assert.Equal(["tenant A's question"], Contents((await _api.GetContextAsync(id, "budget=8000")).Expect(HttpStatusCode.OK)));
        Assert.Equal(HttpStatusCode.NotFound, (await tenantB.GetContextAsync(id, "budget=8000")).Status);
    }

    [Fact]
    public async Task Given_a_snapshot_whose_last_turn_no_longer_matches_When_read_Then_every_turn_is_read_again()
    {
        var id = await ConversationAsync("first", "second");
        (await _api.GetContextAsync(id, "budget=8000")).Expect(HttpStatusCode.OK);
        // Rows that are no longer the ones the snapshot was taken from: the stored turn at its last index now has
        // another version, so nothing the snapshot holds may be trusted, not even the turns before it.
        await using (var session = fixture.Store().LightweightSession("tenant-a"))
        {
            foreach (var turn in await session.Query<TurnView>().Where(t => t.ConversationId == id).ToListAsync())
            {
                turn.Content += " (rewritten)";
                turn.Version += 100;
                session.Store(turn);
            }
            await session.SaveChangesAsync();
        }

        // Read through the queries themselves: the context endpoint's ranking index is a cache of its own,
        // keyed by the immutable turn ids, and would hide what the snapshot layer did.
        var queries = fixture.Factory.Services.GetRequiredService<ConversationQueries>();
        var (_, headers, _) = (await queries.GetContextSourcesAsync("tenant-a", id, CancellationToken.None))!.Value;
        var contents = await queries.GetContentsAsync("tenant-a", id, [.. headers.Select(h => h.Index)], CancellationToken.None);

        Assert.Equal(["first (rewritten)", "second (rewritten)"], headers.Select(h => contents[h.Index]));
    }

    [Fact]
    public void Given_snapshots_over_the_memory_cap_When_stored_Then_the_least_recently_used_go_first()
    {
        var time = new ManualTime();
        var snapshots = new ConversationSnapshots(Options.Create(new ConversationsOptions { SnapshotCacheMegabytes = 1 }), time);
        var third = Snapshot(time, 300_000); // 600 KB: with the other two (300 KB each) over 1 MiB

        snapshots.Put("t", "a", Snapshot(time, 150_000));
        snapshots.Put("t", "b", Snapshot(time, 150_000));
        Assert.NotNull(snapshots.Get("t", "a")); // now b is the least recently used
        snapshots.Put("t", "c", third);

        Assert.NotNull(snapshots.Get("t", "c"));
        Assert.NotNull(snapshots.Get("t", "a"));
        Assert.Null(snapshots.Get("t", "b"));
        Assert.True(snapshots.Bytes <= 1_048_576);
        Assert.Null(snapshots.Get("other-tenant", "a"));
    }

    [Fact]
    public void Given_a_snapshot_larger_than_the_cap_or_a_zero_cap_When_stored_Then_nothing_is_kept()
    {
        var time = new ManualTime();
        var small = new ConversationSnapshots(Options.Create(new ConversationsOptions { SnapshotCacheMegabytes = 1 }), time);
        var off = new ConversationSnapshots(Options.Create(new ConversationsOptions { SnapshotCacheMegabytes = 0 }), time);

        small.Put("t", "huge", Snapshot(time, 600_000));
        off.Put("t", "tiny", Snapshot(time, 10));

        Assert.Null(small.Get("t", "huge"));
        Assert.Null(off.Get("t", "tiny"));
        Assert.Equal(0, small.Bytes + off.Bytes);
    }

    [Fact]
    public void Given_a_snapshot_validated_earlier_When_asked_for_a_fresh_one_Then_only_a_recent_probe_counts()
    {
        var time = new ManualTime();
        var snapshots = new ConversationSnapshots(Options.Create(new ConversationsOptions()), time);
        snapshots.Put("t", "a", Snapshot(time, 10));

        time.Advance(ConversationSnapshots.Freshness);
        Assert.NotNull(snapshots.GetFresh("t", "a"));
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(snapshots.GetFresh("t", "a"));
        Assert.NotNull(snapshots.Get("t", "a"));
    }

    [Fact]
    public void Given_a_conversation_deleted_while_a_request_read_it_When_the_request_stores_its_snapshot_late_Then_it_is_not_kept()
    {
        var time = new ManualTime();
        var deleted = new DeletedConversations(time);
        var snapshots = new ConversationSnapshots(Options.Create(new ConversationsOptions()), time, deleted);

        deleted.Add("t", "gone");
        snapshots.Put("t", "gone", Snapshot(time, 10));
        snapshots.Put("t", "kept", Snapshot(time, 10));

        Assert.Null(snapshots.Get("t", "gone"));
        Assert.NotNull(snapshots.Get("t", "kept"));
        time.Advance(DeletedConversations.Remembered);
        Assert.False(deleted.Contains("t", "gone"));
    }

    private static ConversationSnapshot Snapshot(ManualTime time, int contentChars) =>
        new([new TurnHeader("t1", 1, "user", null, 1, "o200k_base")], [new string('x', contentChars)], 2, time.GetTimestamp());

    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
