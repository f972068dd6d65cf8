// PUBLIC API CONTRACT (stub written by the lead; the event-store helper implements it and may split it into files).
// The web project codes against these signatures: keep them, extend if needed, tell the lead about changes.
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace ConversationService.EventStore;

public sealed class EventStoreOptions
{
    /// <summary>PostgreSQL schema holding streams, events, progression and every projection table.</summary>
    public string Schema { get; set; } = "conversations";

    /// <summary>How often the daemon polls for new events when it was not notified.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Max events one async projection handles per batch.</summary>
    public int BatchSize { get; set; } = 500;
}

/// <summary>An event as stored: <see cref="Data"/> is the deserialized CLR record.</summary>
public sealed record StoredEvent(
    long Sequence, Guid Id, string TenantId, string StreamId, long Version, string Type, object Data, DateTimeOffset Timestamp);

/// <summary>Thrown when the stream's version is not the expected one.</summary>
public sealed class ConcurrencyException(string streamId, long expected, long actual)
    : Exception($"Stream '{streamId}' is at version {actual}, expected {expected}.")
{
    public long Expected { get; } = expected;
    public long Actual { get; } = actual;
}

/// <summary>Maps event CLR types to stored type names (snake_case of the type name, Marten style).</summary>
public sealed class EventTypeRegistry
{
    public EventTypeRegistry Register<T>() => throw new NotImplementedException();
    public string NameOf(Type type) => throw new NotImplementedException();
    public Type TypeOf(string name) => throw new NotImplementedException();
}

/// <summary>
/// Runs inside the append transaction. Adds its SQL to the batch that also inserts the events, so the whole
/// append is one round trip. <see cref="InlineBatch.Schema"/> names the schema.
/// </summary>
public interface IInlineProjection
{
    /// <summary>Idempotent DDL (CREATE TABLE IF NOT EXISTS ...) for the projection's tables in <paramref name="schema"/>.</summary>
    string Ddl(string schema);

    void Apply(InlineBatch batch, IReadOnlyList<StoredEvent> events);
}

public sealed class InlineBatch
{
    public string Schema => throw new NotImplementedException();
    public string TenantId => throw new NotImplementedException();
    public string StreamId => throw new NotImplementedException();

    /// <summary>Adds one SQL command with positional parameters ($1, $2, ...).</summary>
    public void Add(string sql, params object?[] parameters) => throw new NotImplementedException();
}

/// <summary>An asynchronous projection or subscription, fed by the daemon in seq_id order with a durable checkpoint.</summary>
public interface IAsyncProjection
{
    /// <summary>Checkpoint name in the progression table; also the advisory lock key.</summary>
    string Name { get; }

    /// <summary>Idempotent DDL for its tables, or empty.</summary>
    string Ddl(string schema);

    /// <summary>Handles a batch; the checkpoint advances past it only when this returns. Must be idempotent (at-least-once).</summary>
    Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken);
}

/// <summary>
/// A write session on one stream: the stream row is locked (created if absent) in an open transaction,
/// so reads through <see cref="Connection"/> see a stable state and concurrent writers queue up.
/// </summary>
public sealed class StreamWriteSession : IAsyncDisposable
{
    public string TenantId => throw new NotImplementedException();
    public string StreamId => throw new NotImplementedException();

    /// <summary>Current version (0 for a new stream).</summary>
    public long Version => throw new NotImplementedException();

    public bool IsNew => throw new NotImplementedException();
    public bool IsArchived => throw new NotImplementedException();

    /// <summary>For reading projection tables inside the locked transaction.</summary>
    public NpgsqlConnection Connection => throw new NotImplementedException();
    public NpgsqlTransaction Transaction => throw new NotImplementedException();

    /// <summary>
    /// Appends events, runs inline projections, commits. Throws <see cref="ConcurrencyException"/> when
    /// <paramref name="expectedVersion"/> is given and differs from <see cref="Version"/>.
    /// Returns the stored events with their versions and sequence numbers.
    /// </summary>
    public Task<IReadOnlyList<StoredEvent>> AppendAndCommitAsync(
        IReadOnlyList<object> events, long? expectedVersion, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Rolls back when not committed.</summary>
    public ValueTask DisposeAsync() => throw new NotImplementedException();
}

public sealed class EventStore
{
    /// <summary>Creates or upgrades the schema (idempotent), including every registered projection's DDL.</summary>
    public Task InitializeAsync(CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Opens a transaction and locks the stream row (creating it with <paramref name="streamType"/> if absent).</summary>
    public Task<StreamWriteSession> OpenForWritingAsync(
        string tenantId, string streamId, string streamType, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Shortcut: open, append, commit.</summary>
    public Task<IReadOnlyList<StoredEvent>> AppendAsync(
        string tenantId, string streamId, string streamType, IReadOnlyList<object> events, long? expectedVersion,
        CancellationToken cancellationToken) => throw new NotImplementedException();

    public Task<IReadOnlyList<StoredEvent>> ReadStreamAsync(
        string tenantId, string streamId, long fromVersion, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>
    /// Highest version of the stream that every registered async projection has processed
    /// (the stream's version when none is registered); null when the stream does not exist.
    /// </summary>
    public Task<long?> GetIndexedVersionAsync(string tenantId, string streamId, CancellationToken cancellationToken)
        => throw new NotImplementedException();
}

public static class EventStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="EventStore"/>, its options, an <see cref="NpgsqlDataSource"/> from the given connection
    /// string (when none is registered), the event types, inline and async projections, and the daemon
    /// (a hosted service) that runs the async projections once across replicas.
    /// </summary>
    public static IServiceCollection AddEventStore(
        this IServiceCollection services, Action<EventStoreBuilder> configure) => throw new NotImplementedException();
}

public sealed class EventStoreBuilder
{
    public EventStoreBuilder Events(Action<EventTypeRegistry> register) => throw new NotImplementedException();
    public EventStoreBuilder Options(Action<EventStoreOptions> configure) => throw new NotImplementedException();
    public EventStoreBuilder InlineProjection<T>() where T : class, IInlineProjection => throw new NotImplementedException();
    public EventStoreBuilder AsyncProjection<T>() where T : class, IAsyncProjection => throw new NotImplementedException();
}
