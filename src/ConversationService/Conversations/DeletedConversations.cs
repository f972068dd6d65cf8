using System.Collections.Concurrent;
using ConversationService.Context;
using ConversationService.Storage;
using JasperFx.Events;
using ConversationService.Hosting;

namespace ConversationService.Conversations;

/// <summary>
/// Conversations this replica learned were deleted, remembered for <see cref="Remembered"/>. A request that read a
/// conversation just before its deletion committed can put what it read into a cache after the eviction ran, so the
/// caches of conversation content ask here before keeping anything. A deleted id is archived and never written
/// again, so a tombstone never hides a live conversation; requests in flight at a deletion end long before it expires.
/// </summary>
public sealed class DeletedConversations(TimeProvider time)
{
    public static readonly TimeSpan Remembered = TimeSpan.FromMinutes(10);
    private const int PruneAbove = 10_000;

    private readonly ConcurrentDictionary<(string Tenant, string Id), long> _deleted = new();

    public void Add(string tenant, string id)
    {
        if (_deleted.Count >= PruneAbove)
        {
            foreach (var (key, at) in _deleted)
            {
                if (time.GetElapsedTime(at) >= Remembered)
                {
                    _deleted.TryRemove(key, out _);
                }
            }
        }
        _deleted[(tenant, id)] = time.GetTimestamp();
    }

    /// <summary>A lock-free lookup (not IsEmpty, which takes every lock when empty): the caches ask on every put.</summary>
    public bool Contains(string tenant, string id) =>
        _deleted.TryGetValue((tenant, id), out var at) && time.GetElapsedTime(at) < Remembered;
}

/// <summary>
/// Forgets every in-memory copy of a deleted conversation on every replica: each replica follows the log for
/// <see cref="ConversationDeleted"/> (an <see cref="IReplicaSubscription"/>: no lock, so every replica runs it) and
/// drops the conversation from the snapshots, ranking indexes, context answers, token counts and known write states.
/// The deleting replica also does so at once, before answering 204.
/// <para>
/// Why the log and not the broker's <c>ConversationDeleted</c> integration event: the deletion event commits with the
/// erasure, so a replica reads it whatever else is down, in order and without gaps (Marten's high-water mark); a broker outage
/// or a parked publish would let content outlive its deletion in memory. A poll costs each replica one index range
/// read of small rows every <c>EventStore:PollInterval</c>, reading only deletions.
/// </para>
/// </summary>
public sealed class ConversationEviction(
    DeletedConversations deleted, ConversationSnapshots snapshots, ConversationIndexCache indexes, ContextResponseCache responses,
    ModelTokenizers tokenizers, ConversationWriter writer) : IReplicaSubscription
{
    public IReadOnlyCollection<Type> EventTypes => [typeof(ConversationDeleted)];

    public void Handle(IReadOnlyList<IEvent> events) =>
        Forget([.. events.Where(e => e.Data is ConversationDeleted).Select(e => (e.TenantId, Summaries.SummaryStream.ConversationIdOf(e.StreamKey!)))]);

    public void Forget(string tenant, string id) => Forget([(tenant, id)]);

    private void Forget(HashSet<(string Tenant, string Id)> conversations)
    {
        if (conversations.Count == 0)
        {
            return;
        }
        // The tombstones first: a put that races the removals below is then refused.
        foreach (var (tenant, id) in conversations)
        {
            deleted.Add(tenant, id);
            snapshots.Remove(tenant, id);
            indexes.Forget(tenant, id);
            writer.Forget(tenant, id);
        }
        // One pass over each cache whose entries are many per conversation.
        responses.Forget(conversations);
        tokenizers.ForgetCounts(conversations);
    }
}
