using ConversationService.Tests.Infrastructure;
using Npgsql;

namespace ConversationService.Tests.Usage;

public sealed class ContextUsageSchemaTests
{
    [Fact]
    public async Task Given_a_usage_table_of_an_earlier_version_When_a_replica_starts_Then_it_is_upgraded_and_its_rows_kept()
    {
        var fixture = new ServiceFixture();
        await fixture.InitializeAsync();
        try
        {
            // The table as the first version created it: integer tokens, one row per request, no count and no sections.
            await ExecuteAsync(fixture, """
                ALTER TABLE conversations.context_usage DROP COLUMN requests, DROP COLUMN system_tokens,
                    DROP COLUMN summary_tokens, DROP COLUMN recent_tokens, DROP COLUMN recalled_tokens,
                    DROP COLUMN knowledge_tokens, DROP COLUMN examples_tokens;
                ALTER TABLE conversations.context_usage ALTER COLUMN tokens_served TYPE integer;
                INSERT INTO conversations.context_usage (tenant_id, conversation_id, model, tokens_served, full_history_tokens, at)
                VALUES ('tenant-a', 'old', 'gpt-4o', 120, 900, now());
                """);

            await using (var replica = fixture.CreateFactory(new Dictionary<string, string?>()))
            {
                using var client = replica.CreateClient(); // starts the host, which upgrades the table
            }

            Assert.Equal("bigint", await ScalarAsync<string>(fixture, """
                SELECT data_type FROM information_schema.columns
                WHERE table_schema = 'conversations' AND table_name = 'context_usage' AND column_name = 'tokens_served'
                """));
            Assert.Equal(1, await ScalarAsync<int>(fixture,
                "SELECT requests FROM conversations.context_usage WHERE conversation_id = 'old' AND tokens_served = 120"));
            Assert.Equal(0L, await ScalarAsync<long>(fixture,
                "SELECT system_tokens + examples_tokens FROM conversations.context_usage WHERE conversation_id = 'old'"));

            // Once upgraded, a start-up alters nothing, so it does not wait behind a long read of the table (an ALTER
            // TABLE, even one that changes nothing, would queue for its exclusive lock until the read ends).
            await using var reader = new NpgsqlConnection(fixture.ConnectionString);
            await reader.OpenAsync();
            await using var read = await reader.BeginTransactionAsync();
            await using (var select = new NpgsqlCommand("SELECT count(*) FROM conversations.context_usage", reader, read))
            {
                await select.ExecuteScalarAsync();
            }
            var start = Task.Run(async () =>
            {
                await using var again = fixture.CreateFactory(new Dictionary<string, string?>());
                using var client = again.CreateClient();
            });
            await start.WaitAsync(TimeSpan.FromSeconds(60));
            await read.RollbackAsync();
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    private static async Task ExecuteAsync(ServiceFixture fixture, string sql)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(ServiceFixture fixture, string sql)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
