using System.Collections.Concurrent;
using System.Diagnostics;
using ConversationService.Hosting;
using JasperFx.Events;
using Marten;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ConversationService.Storage;

/// <summary>Events for one stream, stored only if the stream is still at <see cref="Version"/> (0: it does not exist).</summary>
public sealed record StreamAppend(string Tenant, string StreamKey, long Version, IReadOnlyList<object> Events);

/// <summary>
/// Group commit over Marten: appends that arrive while earlier ones are being committed are stored together, in one
/// Marten session and one transaction, instead of one each. A commit costs PostgreSQL (and the client) far more than
/// the few rows of an append, so under concurrent load this multiplies the appends per second; a lone append still
/// goes out at once. Every caller's append is durable when its task completes, exactly as with a session of its own,
/// and the inline projections run in the same transaction.
/// <para>
/// At most <see cref="EventStoreOptions.AppendWriters"/> commits run at once, each of up to
/// <see cref="EventStoreOptions.MaxAppendsPerCommit"/> appends and at most one per stream key (a second append to a
/// stream waits for the next commit: both were decided at the version they know, so at most one of them can hold, and
/// Marten names a stale stream by its key alone). An append whose stream moved gets null and the others are committed
/// without it. A failure that rolled the transaction back (PostgreSQL refused something, or the batch could not be
/// built) commits each append alone, so only its own caller gets the error; only a lost connection, whose commit may or
/// may not have happened, fails the whole group.
/// </para>
/// <para>
/// Each append's events keep the trace of the operation that appended them (its W3C traceparent as Marten's correlation
/// id), so the daemon's subscriptions continue that trace when they publish them (<see cref="Telemetry.StartFrom"/>).
/// A commit is a span of the first append's trace, linked to the others'.
/// </para>
/// </summary>
public sealed class GroupCommit(IDocumentStore store, IOptions<EventStoreOptions> options)
{
    private sealed class Waiting(StreamAppend append, CancellationToken cancellationToken)
    {
        public StreamAppend Append { get; } = append;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Activity? Caller { get; } = Activity.Current;
    }

    private readonly ConcurrentQueue<Waiting> _queue = new();
    private int _writers;

    /// <summary>True when stored; false when the stream is not at the append's version (nothing stored).</summary>
    public Task<bool> AppendAsync(StreamAppend append, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(append);
        ArgumentOutOfRangeException.ThrowIfZero(append.Events.Count);
        cancellationToken.ThrowIfCancellationRequested();
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
            if (writers >= options.Value.AppendWriters || _queue.IsEmpty)
            {
                return;
            }
            if (Interlocked.CompareExchange(ref _writers, writers + 1, writers) == writers)
            {
                // The writer commits every caller's appends: it does not run in the context (the trace) of the one that
                // happened to start it.
                using (ExecutionContext.SuppressFlow())
                {
                    _ = Task.Run(WriteAsync);
                }
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

    /// <summary>Up to the maximum of queued appends, one per stream key; later ones stay queued.</summary>
    private List<Waiting> TakeGroup()
    {
        var group = new List<Waiting>();
        var streams = new HashSet<string>(StringComparer.Ordinal);
        var later = new List<Waiting>();
        while (group.Count < options.Value.MaxAppendsPerCommit && _queue.TryDequeue(out var waiting))
        {
            if (waiting.CancellationToken.IsCancellationRequested)
            {
                waiting.Completion.TrySetCanceled(waiting.CancellationToken);
            }
            else if (streams.Add(waiting.Append.StreamKey))
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

    private async Task CommitAsync(List<Waiting> group)
    {
        // Every commit locks its streams' rows in one order (another writer's or replica's commit of some of the same
        // streams then waits for this one instead of deadlocking with it, which PostgreSQL resolves only after a
        // second); appends to different streams are independent, so their order within a commit does not matter.
        group.Sort(static (x, y) => string.CompareOrdinal(x.Append.Tenant, y.Append.Tenant) is var tenant and not 0
            ? tenant
            : string.CompareOrdinal(x.Append.StreamKey, y.Append.StreamKey));
        while (group.Count > 0)
        {
            try
            {
                using var span = Telemetry.Source.StartActivity(
                    "eventstore.commit", ActivityKind.Internal, group[0].Caller?.Context ?? default,
                    links: group.Skip(1).Where(w => w.Caller is not null).Select(w => new ActivityLink(w.Caller!.Context)));
                span?.SetTag("eventstore.appends", group.Count);
                await using var session = store.LightweightSession();
                foreach (var waiting in group)
                {
                    var append = waiting.Append;
                    // Marten's expected version is the stream's version after the append.
                    var stream = session.ForTenant(append.Tenant).Events.Append(
                        append.StreamKey, append.Version + append.Events.Count, append.Events);
                    foreach (var stored in stream.Events)
                    {
                        stored.CorrelationId = waiting.Caller?.Id;
                    }
                }
                await session.SaveChangesAsync(CancellationToken.None);
                foreach (var waiting in group)
                {
                    waiting.Completion.TrySetResult(true);
                }
                return;
            }
            catch (Exception e) when (StaleStream(e) is { } key && group.FindIndex(w => w.Append.StreamKey == key) is >= 0 and var stale)
            {
                // Nothing was stored; the others are tried again without the append whose stream moved.
                group[stale].Completion.TrySetResult(false);
                group.RemoveAt(stale);
            }
            catch (Exception e) when (group.Count == 1 && IsStale(e))
            {
                group[0].Completion.TrySetResult(false);
                return;
            }
            catch (Exception e) when (group.Count > 1 && RolledBack(e))
            {
                foreach (var waiting in group)
                {
                    await CommitAsync([waiting]);
                }
                return;
            }
            catch (Exception e)
            {
                foreach (var waiting in group)
                {
                    waiting.Completion.TrySetException(e);
                }
                return;
            }
        }
    }

    /// <summary>The key of the stream that was not at its expected version, if that is what failed.</summary>
    private static string? StaleStream(Exception e) =>
        Chain(e).OfType<EventStreamUnexpectedMaxEventIdException>().FirstOrDefault()?.Id?.ToString();

    /// <summary>
    /// Whether a stream was not at its expected version, named or not. Marten names the stream when its version check
    /// failed; two appends that create the same stream at once both pass that check, and the one that loses the
    /// insert of the stream's row gets PostgreSQL's unique violation, whose values Npgsql does not report. Retried
    /// alone, the append that fails so is the stale one.
    /// </summary>
    private static bool IsStale(Exception e) => Chain(e).Any(x => x is EventStreamUnexpectedMaxEventIdException
        || (x is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } unique
            && (unique.TableName == "mt_streams"
                || unique.ConstraintName?.StartsWith("pk_mt_events_stream_and_version", StringComparison.Ordinal) == true)));

    /// <summary>
    /// Whether nothing of the group can have been committed: PostgreSQL reported an error (the transaction ended with
    /// it), or the exception came from building or binding the batch, before anything was sent. Only a failure of the
    /// connection itself (an <see cref="NpgsqlException"/> that is not a server error) leaves the outcome unknown.
    /// </summary>
    internal static bool RolledBack(Exception e) =>
        Chain(e).Any(x => x is PostgresException) || !Chain(e).Any(x => x is NpgsqlException or IOException or TimeoutException);

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (var current = e; current is not null; current = current.InnerException)
        {
            yield return current;
        }
    }
}
