using Npgsql;

namespace ConversationService.EventStore;

/// <summary>
/// Runs inside the append transaction. Adds its SQL to the batch that also inserts the events, so the whole
/// append is one round trip. <see cref="InlineBatch.Schema"/> names the schema.
/// </summary>
public interface IInlineProjection
{
    /// <summary>Idempotent DDL (CREATE TABLE IF NOT EXISTS ...) for the projection's tables in <paramref name="schema"/>.</summary>
    string Ddl(string schema);

    /// <summary>
    /// Adds SQL for <paramref name="events"/>. Their <see cref="StoredEvent.Sequence"/> is 0: sequence numbers are
    /// drawn by the same batch, after this runs. Versions, ids and timestamps are final.
    /// </summary>
    void Apply(InlineBatch batch, IReadOnlyList<StoredEvent> events);

    /// <summary>
    /// The appends of several streams committed together (group commit), at most one per stream; the batch's
    /// <see cref="InlineBatch.TenantId"/> and <see cref="InlineBatch.StreamId"/> are empty, each event carries its own.
    /// By default each append is applied on its own; a projection may write them all with fewer commands.
    /// </summary>
    void ApplyMany(InlineBatch batch, IReadOnlyList<IReadOnlyList<StoredEvent>> appends)
    {
        foreach (var events in appends)
        {
            Apply(batch.For(events[0].TenantId, events[0].StreamId), events);
        }
    }
}

public sealed class InlineBatch
{
    private readonly NpgsqlBatch _batch;

    internal InlineBatch(NpgsqlBatch batch, string schema, string tenantId, string streamId)
    {
        _batch = batch;
        Schema = schema;
        TenantId = tenantId;
        StreamId = streamId;
    }

    public string Schema { get; }
    public string TenantId { get; }
    public string StreamId { get; }

    /// <summary>The same batch, for the events of one stream.</summary>
    public InlineBatch For(string tenantId, string streamId) => new(_batch, Schema, tenantId, streamId);

    /// <summary>
    /// Adds one SQL command with positional parameters ($1, $2, ...); null becomes SQL NULL. Parameter types come
    /// from the CLR values (string is text), so cast in SQL where the column differs, e.g. <c>$3::jsonb</c>.
    /// </summary>
    public void Add(string sql, params object?[] parameters)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in parameters ?? [null])
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        _batch.BatchCommands.Add(command);
    }
}

/// <summary>An asynchronous projection or subscription, fed by the daemon in seq_id order with a durable checkpoint.</summary>
public interface IAsyncProjection
{
    /// <summary>Checkpoint name in the progression table; also the advisory lock key.</summary>
    string Name { get; }

    /// <summary>
    /// Whether <see cref="EventStore.GetIndexedVersionAsync"/> waits for this projection (retrieval indexes do;
    /// a bus publisher or a summary trigger may opt out so a broker outage does not stall indexedVersion).
    /// </summary>
    bool TracksIndexedVersion => true;

    /// <summary>
    /// False when the projection has nothing to do in this configuration: the store then leaves it out entirely
    /// (not run, no DDL, not waited for by indexedVersion).
    /// </summary>
    bool Enabled => true;

    /// <summary>Idempotent DDL for its tables, or empty.</summary>
    string Ddl(string schema);

    /// <summary>
    /// Called each time this replica takes the projection over, before its first batch: another replica may have run
    /// it meanwhile, so state kept in memory must be dropped here.
    /// </summary>
    void Started()
    {
    }

    /// <summary>
    /// Handles a batch; the checkpoint advances past it only when this returns. Must be idempotent (at-least-once).
    /// When it throws, the daemon retries: a failure of the infrastructure (<see cref="IsTransient"/>) from the
    /// checkpoint, as long as it takes; any other failure by handling the batch in halves down to single events, and an
    /// event that fails alone <see cref="EventStoreOptions.ParkAfterAttempts"/> times is parked (a row in
    /// <c>dead_letters</c>) and passed, so one bad event never holds up the others.
    /// </summary>
    Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken);

    /// <summary>
    /// Whether this exception from <see cref="HandleAsync"/> is a failure of what the projection depends on (its
    /// broker, a provider) rather than of the events: such failures are retried and never park an event. Asked for
    /// each exception of the chain, on top of <see cref="EventFailures.IsTransient"/> (connections, timeouts,
    /// PostgreSQL errors other than data errors).
    /// </summary>
    bool IsTransient(Exception exception) => false;
}

/// <summary>
/// Follows the log on every replica, with no lock and no durable checkpoint, starting near the log's head when the
/// replica starts: for what a replica holds in memory and must bring in line with what any replica stored, such as
/// forgetting the cached content of something deleted. Events arrive in seq_id order and never past a hole that may
/// still fill, like the async projections' (see <see cref="Gaps"/>), at least once.
/// </summary>
public interface IReplicaSubscription
{
    /// <summary>For logs.</summary>
    string Name { get; }

    /// <summary>The event types handed to <see cref="Handle"/>; only their data is read.</summary>
    IReadOnlyCollection<Type> EventTypes { get; }

    /// <summary>
    /// The events of <see cref="EventTypes"/>, in seq_id order. In-memory work only: it runs in the follower's poll loop.
    /// When it throws, the same events come again after <see cref="EventStoreOptions.LockRetryInterval"/>.
    /// </summary>
    void Handle(IReadOnlyList<StoredEvent> events);
}
