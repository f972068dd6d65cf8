using ConversationService.Storage;
using ConversationService.Hosting;
using Npgsql;

namespace ConversationService.Usage;

/// <summary>
/// Creates the service's own tables beside Marten's, which every replica does at start-up. <c>IF NOT EXISTS</c> does
/// not hold when two sessions create the same schema, table or index at once: both find it missing and the slower one
/// fails on a catalog unique index (SQLSTATE 23505). So the DDL runs in a transaction under an advisory lock of the
/// schema: replicas starting together take turns, and each after the first finds everything there.
/// </summary>
internal static class UsageTables
{
    public static async Task CreateAsync(NpgsqlDataSource dataSource, DatabaseSchema schema, string ddl, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using (var serialize = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", connection, transaction))
        {
            serialize.Parameters.Add(new() { Value = $"conversation_service.usage_tables.{schema.Name}" });
            await serialize.ExecuteNonQueryAsync(ct);
        }
        await using (var create = new NpgsqlCommand(ddl, connection, transaction))
        {
            await create.ExecuteNonQueryAsync(ct);
        }
        await transaction.CommitAsync(ct);
    }

    /// <summary>$1 the tenant, $2 and $3 the range [from, to): the parameters of every query of these tables.</summary>
    public static void AddTenantRange(NpgsqlCommand command, string tenant, DateTimeOffset from, DateTimeOffset to)
    {
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = from.UtcDateTime });
        command.Parameters.Add(new() { Value = to.UtcDateTime });
    }
}
