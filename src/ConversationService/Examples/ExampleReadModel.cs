using ConversationService.Embeddings;
using ConversationService.EventStore;
using ConversationService.Hosting;
using Npgsql;

namespace ConversationService.Examples;

/// <summary>A few-shot example as the context endpoint uses it.</summary>
public sealed record FewShotExample(string Id, string Input, string Output, string? Task);

public sealed record ExampleRow(
    string Id, string Input, string Output, string? Task, long Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>The examples table, kept by an inline projection in the append transaction; a delete removes the row.</summary>
public sealed class ExampleProjection : IInlineProjection
{
    public string Ddl(string schema) => $"""
        CREATE TABLE IF NOT EXISTS {schema}.examples (
            tenant_id  text        NOT NULL,
            id         text        NOT NULL,
            input      text        NOT NULL,
            output     text        NOT NULL,
            task       text        NULL,
            version    bigint      NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, id));
        CREATE INDEX IF NOT EXISTS examples_task ON {schema}.examples (tenant_id, task);
        CREATE TABLE IF NOT EXISTS {schema}.example_libraries (
            tenant_id text   PRIMARY KEY,
            version   bigint NOT NULL);
        """;

    public void Apply(InlineBatch batch, IReadOnlyList<StoredEvent> events)
    {
        foreach (var stored in events)
        {
            switch (stored.Data)
            {
                case ExampleSaved saved:
                    batch.Add(
                        $"""
                        INSERT INTO {batch.Schema}.examples AS x (tenant_id, id, input, output, task, version, created_at, updated_at)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
                        ON CONFLICT (tenant_id, id) DO UPDATE
                        SET input = excluded.input, output = excluded.output, task = excluded.task,
                            version = excluded.version, updated_at = excluded.updated_at
                        """,
                        batch.TenantId, saved.ExampleId, saved.Input, saved.Output, saved.Task, stored.Version,
                        saved.SavedAt.UtcDateTime);
                    Changed(batch);
                    break;
                case ExampleDeleted deleted:
                    batch.Add($"DELETE FROM {batch.Schema}.examples WHERE tenant_id = $1 AND id = $2", batch.TenantId, deleted.ExampleId);
                    Changed(batch);
                    break;
            }
        }
    }

    /// <summary>
    /// Every change to a tenant's examples moves its library version, in the same transaction, so a replica that
    /// caches them (see <c>ExampleIndexCache</c>) knows from one small read whether its copy is still current.
    /// </summary>
    private static void Changed(InlineBatch batch) =>
        batch.Add(
            $"""
            INSERT INTO {batch.Schema}.example_libraries AS l (tenant_id, version) VALUES ($1, 1)
            ON CONFLICT (tenant_id) DO UPDATE SET version = l.version + 1
            """,
            batch.TenantId);
}

/// <summary>An example is chosen by the similarity of its input to the query, so the input is what gets embedded.</summary>
public sealed class ExampleEmbeddingSource : IEmbeddingSource
{
    public EmbeddingChange? Map(StoredEvent stored) => stored.Data switch
    {
        ExampleSaved saved => new EmbeddingChange.Index(ExampleStream.Id(saved.ExampleId), null, [saved.Input], Replace: true),
        ExampleDeleted deleted => new EmbeddingChange.Release(ExampleStream.Id(deleted.ExampleId)),
        _ => null,
    };
}

/// <summary>Tenant-scoped reads of the examples; every query filters by tenant first.</summary>
public sealed class ExampleQueries(NpgsqlDataSource dataSource, DatabaseSchema schema)
{
    private const string Columns = "id, input, output, task, version, created_at, updated_at";

    /// <summary>The version of the tenant's examples (moved by every change); 0 when none was written since versions exist.</summary>
    public async Task<long> GetLibraryVersionAsync(string tenant, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"SELECT version FROM {schema.Name}.example_libraries WHERE tenant_id = $1");
        command.Parameters.Add(new() { Value = tenant });
        return await command.ExecuteScalarAsync(ct) is long version ? version : 0;
    }

    /// <summary>The tenant's examples, only those of <paramref name="task"/> when one is given, by id.</summary>
    public async Task<IReadOnlyList<FewShotExample>> GetAsync(string tenant, string? task, CancellationToken ct) =>
        [.. (await ListAsync(tenant, task, null, int.MaxValue, ct)).Select(r => new FewShotExample(r.Id, r.Input, r.Output, r.Task))];

    /// <summary>Ordered by id (ordinal), after <paramref name="after"/>, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<ExampleRow>> ListAsync(string tenant, string? task, string? after, int limit, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT {Columns} FROM {schema.Name}.examples
            WHERE tenant_id = $1 AND ($2::text IS NULL OR task = $2) AND id COLLATE "C" > $3
            ORDER BY id COLLATE "C" LIMIT $4
            """);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = (object?)task ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = after ?? "" });
        command.Parameters.Add(new() { Value = limit });
        return await ReadAsync(command, ct);
    }

    public async Task<ExampleRow?> GetOneAsync(string tenant, string id, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(OneSql);
        command.Parameters.Add(new() { Value = tenant });
        command.Parameters.Add(new() { Value = id });
        return await ReadOneAsync(command, ct);
    }

    /// <summary>The example as the write session sees it (its stream is locked, so the row cannot change meanwhile).</summary>
    public async Task<ExampleRow?> GetForWriteAsync(StreamWriteSession session, string id, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(OneSql, session.Connection, session.Transaction);
        command.Parameters.Add(new() { Value = session.TenantId });
        command.Parameters.Add(new() { Value = id });
        return await ReadOneAsync(command, ct);
    }

    private string OneSql => $"SELECT {Columns} FROM {schema.Name}.examples WHERE tenant_id = $1 AND id = $2";

    private static async Task<ExampleRow?> ReadOneAsync(NpgsqlCommand command, CancellationToken ct) =>
        await ReadAsync(command, ct) is [var row, ..] ? row : null;

    private static async Task<IReadOnlyList<ExampleRow>> ReadAsync(NpgsqlCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new List<ExampleRow>();
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new ExampleRow(
                reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.GetInt64(4), reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6)));
        }
        return rows;
    }
}
