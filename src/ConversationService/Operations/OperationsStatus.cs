using ConversationService.Conversations;
using ConversationService.Storage;
using ConversationService.Summaries;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Marten;
using Npgsql;

namespace ConversationService.Operations;

/// <summary>How far one asynchronous projection or subscription of the daemon is behind the log's high-water mark.</summary>
public sealed record ShardLag(string Name, string Projection, long Sequence, long EventsBehind);

/// <summary>
/// A tenant's background work not done yet. Summaries: turns of its conversations that no rolling summary covers yet
/// (the newest turns always stay verbatim, so this is never zero in an active tenant) and summaries requested but not
/// written yet. Subscriptions: the tenant's events after each asynchronous shard's position (at most
/// <see cref="OperationsStatus.MaxCounted"/>). Parked: the tenant's events that a subscription gave up on.
/// </summary>
public sealed record TenantOperations(
    long UncoveredTurns, long ConversationsWithUncoveredTurns, long SummariesPending,
    IReadOnlyList<SubscriptionLag> Subscriptions, long ParkedEvents);

public sealed record SubscriptionLag(string Name, long EventsBehind, long ParkedEvents);

/// <summary>
/// Summary lag, projection and subscription lag, and parked events, read from what Marten and the read models record
/// in the database (so every replica reports the same): for the dashboard per tenant, and for the whole log
/// (<see cref="ShardsAsync"/>, what gauges over all tenants read).
/// </summary>
public sealed class OperationsStatus(IDocumentStore store, NpgsqlDataSource dataSource, DatabaseSchema schema)
{
    /// <summary>Counting stops here: a tenant's lag is read by a page, not paid for with a scan of the log.</summary>
    public const long MaxCounted = 100_000;

    /// <summary>Every asynchronous shard the store runs, with its position and distance to the high-water mark.</summary>
    public async Task<IReadOnlyList<ShardLag>> ShardsAsync(CancellationToken ct)
    {
        var progress = (await store.Advanced.AllProjectionProgress(token: ct)).ToDictionary(p => p.ShardName, StringComparer.Ordinal);
        var mark = progress.GetValueOrDefault(ShardState.HighWaterMark)?.Sequence ?? 0;
        // The shards this store runs, not every progress row: one of a projection no longer configured stays behind.
        return [.. ((DocumentStore)store).Options.Projections.AllShards().Select(s => s.Name)
            .DistinctBy(s => s.Identity, StringComparer.Ordinal).OrderBy(s => s.Identity, StringComparer.Ordinal)
            .Select(shard =>
            {
                var sequence = progress.GetValueOrDefault(shard.Identity)?.Sequence ?? 0;
                return new ShardLag(shard.Identity, shard.Name, sequence, Math.Max(0, mark - sequence));
            })];
    }

    public async Task<TenantOperations> ForTenantAsync(string tenant, CancellationToken ct)
    {
        var shards = await ShardsAsync(ct);
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var (uncovered, conversations, pending) = await SummaryLagAsync(connection, tenant, ct);
        var behind = await EventsBehindAsync(connection, tenant, shards, ct);
        var parked = await ParkedAsync(tenant, ct);
        return new TenantOperations(
            uncovered, conversations, pending,
            [.. shards.Select(s => new SubscriptionLag(s.Name, behind[s.Name], parked.GetValueOrDefault(s.Projection)))],
            parked.Values.Sum());
    }

    /// <summary>Turns no summary covers yet and summaries requested but not written, over every tenant.</summary>
    public async Task<(long UncoveredTurns, long SummariesPending)> SummaryLagAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var (uncovered, _, pending) = await SummaryLagAsync(connection, null, ct);
        return (uncovered, pending);
    }

    /// <summary>The summary lag of <paramref name="tenant"/>, or of every tenant when it is null.</summary>
    private async Task<(long Uncovered, long Conversations, long Pending)> SummaryLagAsync(
        NpgsqlConnection connection, string? tenant, CancellationToken ct)
    {
        var conversations = $"{schema.Name}.mt_doc_{nameof(ConversationView).ToLowerInvariant()}";
        var requested = $"{schema.Name}.mt_doc_{nameof(PendingSummary).ToLowerInvariant()}";
        await using var command = new NpgsqlCommand(
            $"""
            WITH c AS (
                SELECT tenant_id, id,
                       (data->>'turnCount')::int - COALESCE((data->'summary'->>'throughIndex')::int, 0) AS uncovered,
                       COALESCE((data->'summary'->>'throughIndex')::int, 0) AS through
                FROM {conversations} WHERE $1::text IS NULL OR tenant_id = $1)
            SELECT COALESCE(sum(uncovered), 0)::bigint, count(*) FILTER (WHERE uncovered > 0),
                   (SELECT count(*) FROM {requested} p JOIN c ON c.id = p.id AND c.tenant_id = p.tenant_id
                    WHERE (p.data->>'throughIndex')::int > c.through)
            FROM c
            """, connection);
        command.Parameters.Add(new() { Value = (object?)tenant ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    private async Task<Dictionary<string, long>> EventsBehindAsync(
        NpgsqlConnection connection, string tenant, IReadOnlyList<ShardLag> shards, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            SELECT s.name, (SELECT count(*) FROM (SELECT 1 FROM {schema.Name}.mt_events e
                                                 WHERE e.seq_id > s.seq AND e.tenant_id = $1 LIMIT $4) behind)
            FROM unnest($2::text[], $3::bigint[]) AS s(name, seq)
            """, connection);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = shards.Select(s => s.Name).ToArray() });
        command.Parameters.Add(new() { Value = shards.Select(s => s.Sequence).ToArray() });
        command.Parameters.Add(new() { Value = MaxCounted });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var behind = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            behind[reader.GetString(0)] = reader.GetInt64(1);
        }
        return behind;
    }

    /// <summary>Dead letters of the tenant's events by projection or subscription name (<see cref="ParkedEvents"/>).</summary>
    private async Task<Dictionary<string, long>> ParkedAsync(string tenant, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var parked = await session.Query<DeadLetterEvent>().Where(d => d.AnyTenant() && d.TenantId == tenant)
            .GroupBy(d => d.ProjectionName).Select(g => new { Projection = g.Key, Count = g.Count() })
            .ToListAsync(ct);
        return parked.ToDictionary(p => p.Projection, p => (long)p.Count, StringComparer.Ordinal);
    }
}
