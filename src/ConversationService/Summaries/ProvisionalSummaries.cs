using ConversationService.Contracts;
using ConversationService.Storage;
using ConversationService.Usage;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ConversationService.Summaries;

/// <summary>
/// Replaces provisional summaries (extractive stand-ins written while every LLM tier failed) with real ones: every
/// <see cref="SummariesOptions.ProvisionalRetryInterval"/>, conversations whose current summary is provisional are
/// sent a SummarizeConversation through the same index (oldest first, at most 100 a round), which folds their turns again from the
/// real summary under it. A provider still down leaves another provisional summary and the next round tries again.
/// Every replica sweeps; a command that finds the summary replaced already stops before calling the LLM.
/// </summary>
public sealed class ProvisionalSummaries(
    NpgsqlDataSource dataSource, DatabaseSchema schema, IBus bus, IEndpointNameFormatter endpoints,
    IOptions<SummariesOptions> options, IOptions<LlmOptions> llm, TimeProvider time, ILogger<ProvisionalSummaries> logger)
    : BackgroundService
{
    private const int BatchSize = 100;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.ProvisionalRetryInterval;
        if (!llm.Value.Enabled || interval <= TimeSpan.Zero)
        {
            return;
        }
        using var timer = new PeriodicTimer(interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Provisional summaries were not retried this round: {Error}", e.Message);
            }
        }
    }

    /// <summary>Sends a summary command for each conversation whose summary is provisional; returns how many.</summary>
    public async Task<int> SweepAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT tenant_id, id, (data->'summary'->>'throughIndex')::int
            FROM {schema.Name}.mt_doc_conversationview
            WHERE (data->'summary'->>'provisional')::boolean
            ORDER BY mt_last_modified
            LIMIT {BatchSize}
            """);
        var due = new List<SummarizeConversation>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                due.Add(new SummarizeConversation(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), time.GetUtcNow()));
            }
        }
        if (due.Count > 0)
        {
            var queue = await bus.SummaryQueueAsync(endpoints);
            await Task.WhenAll(due.Select(d => queue.Send(d, ct)));
        }
        return due.Count;
    }
}
