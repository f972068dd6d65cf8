using ConversationService.Hosting;
using Microsoft.Extensions.Options;

namespace ConversationService.Conversations;

/// <summary>
/// The turns of one conversation as this replica last read them, oldest first: headers and content. Turns are
/// append-only and their versions are unique in the stream, so a snapshot that still matches the stored turn at
/// its last index is a prefix of the current turns (see <see cref="ConversationQueries"/>).
/// </summary>
public sealed record ConversationSnapshot(TurnHeader[] Headers, string[] Contents, long LastTurnVersion, long ValidatedAt)
{
    public int Count => Headers.Length;

    /// <summary>Approximate heap size: UTF-16 text plus per-turn object overhead.</summary>
    public long Bytes { get; } = Headers.Length * 160L
        + Contents.Sum(c => (long)c.Length * 2) + Headers.Sum(h => (long)h.Id.Length * 2);
}

/// <summary>
/// Bounded in-process store of <see cref="ConversationSnapshot"/>s keyed by tenant and conversation, least recently
/// used evicted first once their total size exceeds <see cref="ConversationsOptions.SnapshotCacheMegabytes"/>.
/// Serving the context endpoint from it turns reading every turn into one probe for what changed.
/// </summary>
public sealed class ConversationSnapshots(
    IOptions<ConversationsOptions> options, TimeProvider time, DeletedConversations? deleted = null)
{
    /// <summary>
    /// How long after a probe the snapshot may answer content and summary reads without one. Such reads follow the
    /// probe within the same request; the window only bounds what a caller that skipped it could see.
    /// </summary>
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);

    private readonly long _capacity = (long)options.Value.SnapshotCacheMegabytes * 1_048_576;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Tenant, string Id), LinkedListNode<Entry>> _entries = [];
    private readonly LinkedList<Entry> _recency = [];
    private long _bytes;

    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    public ConversationSnapshot? Get(string tenant, string id)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue((tenant, id), out var node))
            {
                return null;
            }
            _recency.Remove(node);
            _recency.AddFirst(node);
            return node.Value.Snapshot;
        }
    }

    /// <summary>The snapshot when a probe validated it within <see cref="Freshness"/>, otherwise null.</summary>
    public ConversationSnapshot? GetFresh(string tenant, string id) =>
        Get(tenant, id) is { } snapshot && time.GetElapsedTime(snapshot.ValidatedAt) <= Freshness ? snapshot : null;

    public long Now() => time.GetTimestamp();

    public void Put(string tenant, string id, ConversationSnapshot snapshot)
    {
        lock (_gate)
        {
            RemoveLocked((tenant, id));
            if (snapshot.Bytes > _capacity || deleted?.Contains(tenant, id) == true)
            {
                return;
            }
            _entries[(tenant, id)] = _recency.AddFirst(new Entry((tenant, id), snapshot));
            _bytes += snapshot.Bytes;
            while (_bytes > _capacity && _recency.Last is { } oldest)
            {
                RemoveLocked(oldest.Value.Key);
            }
        }
    }

    public void Remove(string tenant, string id)
    {
        lock (_gate)
        {
            RemoveLocked((tenant, id));
        }
    }

    private void RemoveLocked((string, string) key)
    {
        if (_entries.Remove(key, out var node))
        {
            _recency.Remove(node);
            _bytes -= node.Value.Snapshot.Bytes;
        }
    }

    private sealed record Entry((string Tenant, string Id) Key, ConversationSnapshot Snapshot);
}
