using System.Collections.Concurrent;
using Npgsql;

namespace ConversationService.EventStore;

/// <summary>
/// Group commit for <see cref="EventStore.TryAppendAtVersionAsync"/>: appends that arrive while earlier ones are being
/// committed are stored together, in one transaction and one round trip, instead of one each. A commit costs
/// PostgreSQL (and the client) far more than the few rows of an append, so under concurrent load this multiplies the
/// appends per second; a lone append still goes out at once. Every caller's append is durable when its task
/// completes, exactly as with a transaction of its own.
/// <para>
/// At most <see cref="EventStoreOptions.AppendWriters"/> commits run at once, each of up to
/// <see cref="EventStoreOptions.MaxAppendsPerCommit"/> appends and at most one per stream (a second append to a stream
/// waits for the next commit: both were decided at the version they know, so at most one of them can hold). The lock
/// statement takes the streams' rows in (tenant, id) order, so two concurrent commits never deadlock. An append whose
/// stream moved gets null and the others are committed without it; when another command fails (a unique violation in
/// a projection, say), each append is committed alone, so only its caller gets the error.
/// </para>
/// </summary>
internal sealed class GroupCommit(EventStore store)
{
    private sealed class Waiting(PendingAppend append, CancellationToken cancellationToken)
    {
        public PendingAppend Append { get; } = append;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource<IReadOnlyList<StoredEvent>?> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly ConcurrentQueue<Waiting> _queue = new();
    private int _writers;

    /// <summary>The stored events, or null when the stream is not at the append's version (nothing stored).</summary>
    public Task<IReadOnlyList<StoredEvent>?> AppendAsync(PendingAppend append, CancellationToken cancellationToken)
    {
        var waiting = new Waiting(append, cancellationToken);
        _queue.Enqueue(waiting);
        StartWriterIfNeeded();
        return waiting.Completion.Task;
    }

    private void StartWriterIfNeeded()
    {
        while (true)
        {
            var writers = Volatile.Read(ref _writers);
            if (writers >= store.Options.AppendWriters || _queue.IsEmpty)
            {
                return;
            }
            if (Interlocked.CompareExchange(ref _writers, writers + 1, writers) == writers)
            {
                _ = Task.Run(WriteAsync);
                return;
            }
        }
    }

    private async Task WriteAsync()
    {
        try
        {
            while (TakeGroup() is { Count: > 0 } group)
            {
                await CommitAsync(group);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _writers);
            // An append queued while this writer was leaving may have found every writer busy.
            StartWriterIfNeeded();
        }
    }

    /// <summary>Up to the maximum of queued appends, one per stream; later ones stay queued.</summary>
    private List<Waiting> TakeGroup()
    {
        var group = new List<Waiting>();
        var streams = new HashSet<(string, string)>();
        var later = new List<Waiting>();
        while (group.Count < store.Options.MaxAppendsPerCommit && _queue.TryDequeue(out var waiting))
        {
            if (waiting.CancellationToken.IsCancellationRequested)
            {
                waiting.Completion.TrySetCanceled(waiting.CancellationToken);
            }
            else if (streams.Add((waiting.Append.TenantId, waiting.Append.StreamId)))
            {
                group.Add(waiting);
            }
            else
            {
                later.Add(waiting);
            }
        }
        foreach (var waiting in later)
        {
            _queue.Enqueue(waiting);
        }
        return group;
    }

    /// <summary>
    /// Whether nothing of the group can have been committed: PostgreSQL reported an error (the transaction ended with
    /// it), or the exception came from building or binding the batch, before anything was sent. Only a failure of the
    /// connection itself (an <see cref="NpgsqlException"/> that is not a server error) leaves the outcome unknown.
    /// </summary>
    private static bool RolledBack(Exception e) => e is PostgresException or not NpgsqlException;

    private async Task CommitAsync(List<Waiting> group)
    {
        while (group.Count > 0)
        {
            // A connection that cannot be had fails every member alike; trying them one by one would only press
            // harder on a server that is refusing connections.
            var connected = false;
            try
            {
                await using var connection = await store.DataSource.OpenConnectionAsync(CancellationToken.None);
                await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None);
                connected = true;
                var stored = await AppendCommands.ExecuteAtVersionsAsync(
                    store, connection, transaction, [.. group.Select(w => w.Append)], CancellationToken.None);
                for (var i = 0; i < group.Count; i++)
                {
                    group[i].Completion.TrySetResult(stored[i]);
                }
                return;
            }
            catch (PostgresException e) when (e.SqlState == Sql.StreamMoved && int.TryParse(e.Hint, out var position)
                                               && position >= 1 && position <= group.Count)
            {
                // Nothing was stored; the others are tried again without the append whose stream moved.
                group[position - 1].Completion.TrySetResult(null);
                group.RemoveAt(position - 1);
            }
            catch (Exception e) when (connected && group.Count > 1 && RolledBack(e))
            {
                // Some append's own data failed (a unique violation in its projection, a value PostgreSQL refuses),
                // and a statement over all of them does not say whose: each is committed alone, so only that caller
                // gets the error and the others are stored as if they had never met it.
                foreach (var waiting in group)
                {
                    await CommitAsync([waiting]);
                }
                return;
            }
            catch (Exception e)
            {
                // The append's own error, or the connection or the commit failed: whether it committed is then
                // unknown, as for any lost COMMIT, so it is not tried again here.
                foreach (var waiting in group)
                {
                    waiting.Completion.TrySetException(e);
                }
                return;
            }
        }
    }
}
