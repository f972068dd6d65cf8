using ConversationService.Storage;
using ConversationService.Hosting;
using ConversationService.Tests.Infrastructure;
using ConversationService.Usage;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace ConversationService.Tests.Usage;

/// <summary>
/// Every replica creates the usage tables at start-up. PostgreSQL's <c>IF NOT EXISTS</c> does not hold under
/// concurrency: two sessions creating the same schema, table or index at once both see it missing, and the slower one
/// fails on a catalog unique index. Replicas started together on a fresh database must all start.
/// </summary>
public sealed class UsageTablesTests
{
    private const int Replicas = 8;

    [Fact]
    public async Task Given_a_fresh_schema_When_replicas_create_the_usage_tables_at_once_Then_every_start_succeeds()
    {
        var database = new TestDatabase();
        await database.CreateAsync();
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
            // A few fresh schemas: one round may by chance not interleave.
            for (var round = 0; round < 3; round++)
            {
                var schema = new DatabaseSchema($"usage_{round}");
                var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var starts = Enumerable.Range(0, Replicas).Select(async _ =>
                {
                    await go.Task;
                    await new LlmCallLog(dataSource, schema, new UsageMetrics(TestMeters.Create())).StartAsync(CancellationToken.None);
                    var usage = new ContextUsageLog(dataSource, schema, NullLogger<ContextUsageLog>.Instance);
                    await usage.StartAsync(CancellationToken.None);
                    await usage.StopAsync(CancellationToken.None);
                }).ToList();
                go.SetResult();

                await Task.WhenAll(starts);
            }
        }
        finally
        {
            await database.DropAsync();
        }
    }
}
