using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using ConversationService.Embeddings;
using ConversationService.Summaries;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using JasperFx.Events.Descriptors;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ConversationService.Storage;

/// <summary>
/// That the event log of the service's own earlier store (tables <c>events</c>, <c>streams</c>, <c>progression</c> in
/// the same schema) was imported into Marten, and what was imported. One per database (default tenant); its presence
/// is what makes every later start skip the import.
/// </summary>
public sealed class OwnStoreImported
{
    public const string Key = "own-store";

    public string Id { get; set; } = Key;
    public long Events { get; set; }
    public long Streams { get; set; }
    public int Tenants { get; set; }
    public long LastSequence { get; set; }
    public DateTimeOffset ImportedAt { get; set; }
    public double Seconds { get; set; }
}

/// <summary>
/// Imports a database written by the service's own earlier event store into Marten, once, before anything else
/// starts (<see cref="IHostedLifecycleService.StartingAsync"/>: before the daemon, the replica tail and Kestrel), so no
/// request, projection or subscription ever sees a half-imported log. Nothing to do (one catalog lookup) on a database
/// that never had the own store or was imported already.
/// <para>
/// Every event keeps its sequence number, id, tenant, stream, version, type and timestamp: the events are copied with
/// Marten's streaming bulk import (<c>BulkInsertEventStreamAsync</c>, <see cref="BulkEventSequenceMode.PreserveSourceSequence"/>),
/// one transaction per tenant, deserialized with the JSON options the own store wrote them with and stored with
/// Marten's. The inline projections are then rebuilt from the imported log with Marten's daemon, which is how their
/// documents come to equal what the own store's read-model tables held, erased content and deleted conversations
/// included. The subscriptions continue where the own store's daemon stopped: sequence numbers are kept, so its
/// checkpoints (<c>progression</c>) become their progress as they are, and nothing it already published or
/// requested is sent again. Pending summary requests, stored embeddings and unresolved dead letters are carried over.
/// </para>
/// <para>
/// Replicas that start together take turns on an advisory lock; the first imports, the others find the marker. A
/// failed or interrupted import leaves no marker and is taken up again at the next start (tenants already copied are
/// recognized and skipped; everything else is idempotent). The own store's tables stay as they were, read-only from
/// then on: a trigger refuses writes to <c>events</c> and <c>streams</c>, so a replica of the earlier version still
/// running fails loudly instead of writing where nobody reads any more (README, "Upgrading from the own event store").
/// </para>
/// </summary>
public sealed class OwnStoreImport(
    IDocumentStore store, NpgsqlDataSource dataSource, IOptions<EventStoreOptions> options, TimeProvider time,
    ILogger<OwnStoreImport> logger) : IHostedLifecycleService
{
    /// <summary>How the own store wrote event data (its EventTypeRegistry): web defaults, camel case.</summary>
    private static readonly JsonSerializerOptions OwnStoreJson = new(JsonSerializerDefaults.Web);

    private const int CopyBatchSize = 1_000;
    private const int DocumentBatchSize = 1_000;

    private string Schema => options.Value.Schema;

    private static readonly string MarkerTable = "mt_doc_" + nameof(OwnStoreImported).ToLowerInvariant();

    public Task StartingAsync(CancellationToken cancellationToken) =>
        options.Value.ImportOwnStore ? ImportIfNeededAsync(cancellationToken) : Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Imports the own store's log unless there is none or it was imported; null when nothing was done.</summary>
    public async Task<OwnStoreImported?> ImportIfNeededAsync(CancellationToken ct)
    {
        if (!await TableExistsAsync("events", ct)
            || (await TableExistsAsync(MarkerTable, ct) && await LoadMarkerAsync(ct) is not null))
        {
            return null;
        }

        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        // Whoever gets here second waits for the first to commit its marker, then finds it. Marten's schema is applied
        // under the lock too: replicas applying it at once collide on its DDL.
        await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", ct,
            $"conversation_service.own_store_import.{Schema}");
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        if (await LoadMarkerAsync(ct) is not null)
        {
            return null;
        }
        // A writer of the earlier version still running commits nothing from here on (it waits, then meets the trigger).
        await ExecuteAsync(connection, transaction,
            $"LOCK TABLE {Schema}.streams, {Schema}.events IN EXCLUSIVE MODE", ct);

        var schema = Schema;
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation("Importing the event log of the own event store (schema {Schema}) into Marten", schema);
        }
        var started = Stopwatch.GetTimestamp();
        var imported = await ImportAsync(ct);
        imported.Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        imported.ImportedAt = time.GetUtcNow();

        await ExecuteAsync(connection, transaction, ReadOnlyGuard, ct);
        await using (var session = store.LightweightSession(Marten.Services.SessionOptions.ForTransaction(transaction)))
        {
            session.Store(imported);
            await session.SaveChangesAsync(ct);
        }
        await transaction.CommitAsync(ct);
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation(
                "Imported {Events} events of {Streams} streams and {Tenants} tenants from the own event store in {Seconds:0.0} s "
                + "({Rate:0} events/s); its tables stay in schema {Schema}, read-only",
                imported.Events, imported.Streams, imported.Tenants, imported.Seconds,
                imported.Events / Math.Max(imported.Seconds, 0.001), schema);
        }
        return imported;
    }

    private async Task<OwnStoreImported> ImportAsync(CancellationToken ct)
    {
        var tenants = await ReadTenantsAsync(ct);
        var stats = await store.Advanced.FetchEventStoreStatistics(token: ct);
        var present = tenants.ToDictionary(t => t.Id, _ => 0L, StringComparer.Ordinal);
        foreach (var tenant in stats.EventCount == 0 ? [] : tenants)
        {
            await using var session = store.QuerySession(tenant.Id);
            present[tenant.Id] = await session.Events.QueryAllRawEvents().CountAsync(ct);
        }
        // Only a previous attempt of this import may have written to Marten's log, and only whole tenants.
        var foreign = tenants.Where(t => present[t.Id] != 0 && present[t.Id] != t.Events).Select(t => t.Id).ToList();
        if (foreign.Count > 0 || stats.EventCount != present.Values.Sum())
        {
            throw new InvalidOperationException(
                $"Marten's event log in schema {Schema} already holds events that did not come from the own event store "
                + $"there ({(foreign.Count > 0 ? "tenants " + string.Join(", ", foreign) : "other tenants")}), so it cannot "
                + "be imported without renumbering. Import into a database whose Marten tables are empty, or set "
                + "EventStore:ImportOwnStore=false to start without the earlier data.");
        }

        var started = Stopwatch.GetTimestamp();
        var types = store.Options.Events.AllKnownEventTypes()
            .ToDictionary(t => t.EventTypeName, StringComparer.Ordinal);
        long streams = 0;
        foreach (var tenant in tenants)
        {
            var headers = await ReadStreamHeadersAsync(tenant.Id, ct);
            streams += headers.Count;
            if (present[tenant.Id] == 0)
            {
                await ((DocumentStore)store).BulkInsertEventStreamAsync(
                    tenant.Id, headers, ReadEventsAsync(tenant.Id, types, ct), BulkEventSequenceMode.PreserveSourceSequence,
                    CopyBatchSize, ct);
            }
        }
        var copied = Stopwatch.GetElapsedTime(started);
        if (tenants.Count > 0)
        {
            await RebuildInlineProjectionsAsync(ct);
        }
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.LogInformation("Copied the events in {Copy:0.0} s and rebuilt the inline projections in {Rebuild:0.0} s",
                copied.TotalSeconds, (Stopwatch.GetElapsedTime(started) - copied).TotalSeconds);
        }
        await CarryOverProgressAsync(ct);
        await CarryOverPendingSummariesAsync(ct);
        await CarryOverEmbeddingsAsync(ct);
        await CarryOverDeadLettersAsync(ct);
        return new OwnStoreImported
        {
            Events = tenants.Sum(t => t.Events), Streams = streams, Tenants = tenants.Count,
            LastSequence = tenants.Select(t => t.LastSequence).DefaultIfEmpty(0).Max(),
        };
    }

    private sealed record TenantLog(string Id, long Events, long LastSequence);

    private async Task<List<TenantLog>> ReadTenantsAsync(CancellationToken ct)
    {
        var tenants = new List<TenantLog>();
        await foreach (var row in QueryAsync(
                           $"SELECT tenant_id, count(*), max(seq_id) FROM {Schema}.events GROUP BY tenant_id ORDER BY tenant_id",
                           r => new TenantLog(r.GetString(0), r.GetInt64(1), r.GetInt64(2)), ct))
        {
            tenants.Add(row);
        }
        return tenants;
    }

    /// <summary>
    /// One header per stream, at the version of its last event; not archived, whatever the own store's flag said: it
    /// archived deleted conversations, which Marten's service tells apart by their deletion event instead.
    /// </summary>
    private async Task<List<BulkEventStreamHeader>> ReadStreamHeadersAsync(string tenant, CancellationToken ct)
    {
        var headers = new List<BulkEventStreamHeader>();
        await foreach (var header in QueryAsync(
                           $"SELECT stream_id, max(version) FROM {Schema}.events WHERE tenant_id = $1 GROUP BY stream_id",
                           r => new BulkEventStreamHeader { Key = r.GetString(0), Version = r.GetInt64(1) }, ct, tenant))
        {
            headers.Add(header);
        }
        return headers;
    }

    /// <summary>The tenant's events in sequence order, as Marten events carrying their original metadata.</summary>
    private async IAsyncEnumerable<IEvent> ReadEventsAsync(
        string tenant, Dictionary<string, IEventType> types, [EnumeratorCancellation] CancellationToken ct)
    {
        const string columns = "seq_id, id, stream_id, version, type, data::text, \"timestamp\"";
        await foreach (var e in QueryAsync(
                           $"SELECT {columns} FROM {Schema}.events WHERE tenant_id = $1 ORDER BY seq_id",
                           r => ToEvent(r, tenant, types), ct, tenant))
        {
            yield return e;
        }
    }

    private static IEvent ToEvent(NpgsqlDataReader row, string tenant, Dictionary<string, IEventType> types)
    {
        var (sequence, stream, typeName) = (row.GetInt64(0), row.GetString(2), row.GetString(4));
        if (!types.TryGetValue(typeName, out var type))
        {
            throw new InvalidOperationException(
                $"Event {sequence} (tenant {tenant}, stream {stream}) is of type '{typeName}', which this version of the "
                + "service does not know; the import stops rather than drop it.");
        }
        var data = JsonSerializer.Deserialize(row.GetString(5), type.EventType, OwnStoreJson)
            ?? throw new InvalidOperationException($"Event {sequence} (tenant {tenant}, stream {stream}) has no data.");
        var e = type.Wrap(data);
        e.Sequence = sequence;
        e.Id = row.GetGuid(1);
        e.StreamKey = stream;
        e.Version = row.GetInt64(3);
        e.Timestamp = row.GetFieldValue<DateTimeOffset>(6);
        e.TenantId = tenant;
        return e;
    }

    /// <summary>
    /// The bulk import writes no documents: the inline projections are rebuilt from the imported log, exactly as
    /// <c>projections rebuild</c> does (README, "Rebuilding projections").
    /// </summary>
    private async Task RebuildInlineProjectionsAsync(CancellationToken ct)
    {
        var inline = store.Options.Events.Projections()
            .Where(p => p.Lifecycle == ProjectionLifecycle.Inline && p.Type != SubscriptionType.Subscription)
            .Select(p => p.Name).ToList();
        using var daemon = await store.BuildProjectionDaemonAsync();
        await Task.WhenAll(inline.Select(name => daemon.RebuildProjectionAsync(name, RebuildTimeout, ct)));
    }

    /// <summary>How long one projection's rebuild may take at most (Marten's default is five minutes).</summary>
    private static readonly TimeSpan RebuildTimeout = TimeSpan.FromHours(12);

    /// <summary>
    /// The own store's checkpoints become the progress of the subscriptions that took over from its async projections;
    /// sequence numbers are kept, so a checkpoint means the same event in both. A checkpoint without a registered
    /// subscription (the embeddings of a model no longer configured) is left where it is, in <c>progression</c>.
    /// </summary>
    private async Task CarryOverProgressAsync(CancellationToken ct)
    {
        // The daemon's shards: the subscriptions (and any async projection), by name.
        var registered = ((IEventStore)store).RegisteredShardNames().Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        var schema = Schema;
        var events = (IEventStore<IDocumentOperations, IQuerySession>)store;
        await foreach (var (name, checkpoint) in QueryAsync(
                           $"SELECT name, last_seq_id FROM {Schema}.progression ORDER BY name",
                           r => (r.GetString(0), r.GetInt64(1)), ct))
        {
            var subscription = SubscriptionNameOf(name);
            if (registered.Contains(subscription))
            {
                await events.RewindSubscriptionProgressAsync((IEventDatabase)store.Storage.Database, subscription, ct, checkpoint);
            }
            else if (logger.IsEnabled(LogLevel.Information))
            {
                logger.LogInformation(
                    "The own store's checkpoint {Name} ({Checkpoint}) has no subscription in this configuration; it stays in {Schema}.progression",
                    name, checkpoint, schema);
            }
        }
    }

    /// <summary>The own store's projection names, as the subscriptions that replaced them are named.</summary>
    internal static string SubscriptionNameOf(string ownStoreName) =>
        ownStoreName.StartsWith("embeddings/", StringComparison.Ordinal)
            ? EmbeddingProjection.ShardNameOf(ownStoreName["embeddings/".Length..])
            : ownStoreName;

    /// <summary>What the summary trigger had requested and not seen summarized, so it does not request it again.</summary>
    private async Task CarryOverPendingSummariesAsync(CancellationToken ct)
    {
        if (!await TableExistsAsync("summary_requests", ct))
        {
            return;
        }
        await StoreByTenantAsync(QueryAsync(
            $"SELECT tenant_id, conversation_id, through_index FROM {Schema}.summary_requests ORDER BY tenant_id",
            r => (r.GetString(0), (object)new PendingSummary { Id = r.GetString(1), ThroughIndex = r.GetInt32(2) }), ct), ct);
    }

    /// <summary>
    /// A provider's stored vectors and which source holds which text: the embedding subscription continues from the
    /// own store's checkpoint with them, and a model whose checkpoint is not carried over replays the log without
    /// asking the provider again for a text it already embedded.
    /// </summary>
    private async Task CarryOverEmbeddingsAsync(CancellationToken ct)
    {
        if (!await TableExistsAsync("embeddings", ct) || !await TableExistsAsync("embedding_refs", ct))
        {
            return;
        }
        await StoreByTenantAsync(QueryAsync(
            $"SELECT tenant_id, model, content_hash, vector, created_at FROM {Schema}.embeddings ORDER BY tenant_id",
            r =>
            {
                var hash = r.GetFieldValue<byte[]>(2);
                return (r.GetString(0), (object)new EmbeddingVector
                {
                    Id = EmbeddingVector.IdOf(r.GetString(1), hash), Hash = Convert.ToHexString(hash),
                    // The own store kept raw little-endian float32.
                    Vector = MemoryMarshal.Cast<byte, float>(r.GetFieldValue<byte[]>(3)).ToArray(),
                    CreatedAt = r.GetFieldValue<DateTimeOffset>(4),
                });
            }, ct), ct);
        await StoreByTenantAsync(QueryAsync(
            $"SELECT tenant_id, source, content_hash FROM {Schema}.embedding_refs ORDER BY tenant_id",
            r =>
            {
                var (source, hash) = (r.GetString(1), Convert.ToHexString(r.GetFieldValue<byte[]>(2)));
                return (r.GetString(0), (object)new EmbeddingRef { Id = EmbeddingRef.IdOf(source, hash), Source = source, Hash = hash });
            }, ct), ct);
    }

    /// <summary>Parked events no operator resolved stay parked (readiness says Degraded until they are removed).</summary>
    private async Task CarryOverDeadLettersAsync(CancellationToken ct)
    {
        if (!await TableExistsAsync("dead_letters", ct))
        {
            return;
        }
        await StoreByTenantAsync(QueryAsync(
            $"""
            SELECT tenant_id, projection, seq_id, error_type, error_message, parked_at FROM {Schema}.dead_letters
            WHERE resolved_at IS NULL ORDER BY tenant_id, projection, seq_id
            """,
            r =>
            {
                var name = SubscriptionNameOf(r.GetString(1));
                return (r.GetString(0), (object)new DeadLetterEvent
                {
                    Id = Guid.CreateVersion7(), ProjectionName = name, ShardName = new ShardName(name).Identity,
                    EventSequence = r.GetInt64(2), ExceptionType = r.GetString(3), ExceptionMessage = r.GetString(4),
                    Timestamp = r.GetFieldValue<DateTimeOffset>(5), TenantId = r.GetString(0),
                });
            }, ct), ct);
    }

    /// <summary>Stores documents (upserts: a repeated import changes nothing), per tenant, in batches.</summary>
    private async Task StoreByTenantAsync(IAsyncEnumerable<(string Tenant, object Document)> documents, CancellationToken ct)
    {
        IDocumentSession? session = null;
        var count = 0;
        try
        {
            await foreach (var (tenant, document) in documents)
            {
                if (session is not null && (session.TenantId != tenant || count == DocumentBatchSize))
                {
                    await session.SaveChangesAsync(ct);
                    await session.DisposeAsync();
                    (session, count) = (null, 0);
                }
                session ??= store.LightweightSession(tenant);
                session.Store(document);
                count++;
            }
            if (session is not null)
            {
                await session.SaveChangesAsync(ct);
            }
        }
        finally
        {
            if (session is not null)
            {
                await session.DisposeAsync();
            }
        }
    }

    private async Task<OwnStoreImported?> LoadMarkerAsync(CancellationToken ct)
    {
        await using var session = store.QuerySession();
        return await session.LoadAsync<OwnStoreImported>(OwnStoreImported.Key, ct);
    }

    private async Task<bool> TableExistsAsync(string table, CancellationToken ct)
    {
        await foreach (var exists in QueryAsync("SELECT to_regclass($1) IS NOT NULL", r => r.GetBoolean(0), ct, $"{Schema}.{table}"))
        {
            return exists;
        }
        return false;
    }

    /// <summary>
    /// The own store's tables are kept, but nothing may write to them again: a replica of the earlier version would
    /// otherwise store turns where nobody reads them. Dropping the trigger (or the tables) is the operator's call.
    /// </summary>
    private string ReadOnlyGuard => $"""
        CREATE OR REPLACE FUNCTION {Schema}.own_store_imported() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            RAISE EXCEPTION 'The own event store in schema {Schema} was imported into Marten (mt_events) and is read-only; '
                'this is a replica of an earlier version of the service still running.';
        END
        $fn$;
        CREATE OR REPLACE TRIGGER own_store_imported BEFORE INSERT OR UPDATE OR DELETE ON {Schema}.events
            FOR EACH STATEMENT EXECUTE FUNCTION {Schema}.own_store_imported();
        CREATE OR REPLACE TRIGGER own_store_imported BEFORE INSERT OR UPDATE OR DELETE ON {Schema}.streams
            FOR EACH STATEMENT EXECUTE FUNCTION {Schema}.own_store_imported();
        """;

    private async IAsyncEnumerable<T> QueryAsync<T>(
        string sql, Func<NpgsqlDataReader, T> read, [EnumeratorCancellation] CancellationToken ct, params object[] parameters)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            yield return read(reader);
        }
    }

    private static async Task ExecuteAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken ct, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        await command.ExecuteNonQueryAsync(ct);
    }
}
