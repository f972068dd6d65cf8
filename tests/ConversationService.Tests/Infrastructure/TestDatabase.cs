using Npgsql;

namespace ConversationService.Tests.Infrastructure;

/// <summary>
/// A database of its own (cs_test_&lt;32 hex&gt;) for one fixture, created at start and dropped at the end, so
/// parallel runs on one PostgreSQL never collide.
/// </summary>
public sealed class TestDatabase
{
    private static readonly string AdminConnectionString =
        Environment.GetEnvironmentVariable("ConnectionStrings__Postgres")
        ?? "Host=localhost;Port=5432;Username=conversation_service;Password=conversation_service;Database=postgres";

    public string Name { get; } = "cs_test_" + Guid.NewGuid().ToString("N");

    public string ConnectionString => new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = Name }.ConnectionString;

    public Task CreateAsync() => AdminAsync($"CREATE DATABASE {Name}");

    public Task DropAsync()
    {
        NpgsqlConnection.ClearAllPools();
        return AdminAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
    }

    private static async Task AdminAsync(string sql)
    {
        await using var admin = new NpgsqlConnection(AdminConnectionString);
        await admin.OpenAsync();
        await using var command = new NpgsqlCommand(sql, admin);
        await command.ExecuteNonQueryAsync();
    }
}
