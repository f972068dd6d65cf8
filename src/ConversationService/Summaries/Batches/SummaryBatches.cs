using System.ClientModel;
using System.Diagnostics.Metrics;
using ConversationService.Contracts;
using ConversationService.Hosting;
using ConversationService.Usage;
using MassTransit;
using Microsoft.Extensions.Options;
using OpenAI.Batch;
using OpenAI.Files;

namespace ConversationService.Summaries;

/// <summary>
/// Batch mode's rounds, every <see cref="BatchSummariesOptions.Interval"/> on whichever replica holds the lock
/// (<see cref="SummaryBatchTable.TryLeadAsync"/>):
/// <list type="number">
/// <item>a job recorded but never confirmed by the provider (the replica died between the two) is looked up by its
/// metadata; if the provider has none, its conversations wait again;</item>
/// <item>finished jobs are applied: each answer is stored as a summary at the batch price (if the summary stream has not
/// moved since), a line without a usable answer waits for the next job, and after
/// <see cref="BatchSummariesOptions.MaxAttempts"/> runs directly, as does an answer cut at the output cap;</item>
/// <item>conversations queued longer than <see cref="BatchSummariesOptions.MaxWait"/> run directly (the deadline);</item>
/// <item>the waiting conversations are written as one JSONL file, uploaded, and submitted as a job.</item>
/// </list>
/// Which job holds which conversation lives in the store, so a restart picks up where the last round stopped. The
/// gauge <c>conversation_service.summaries.batch_queue</c> reports, from the replica that led the latest round, the
/// conversations waiting for a job and those in one (<c>state</c> = <c>waiting</c> | <c>in_job</c>).
/// </summary>
public sealed class SummaryBatches(
    SummaryBatchTable table, SummaryJobs jobs, DailyBudget budget, LlmCallLog log, ModelTokenizers tokenizers, IBus bus,
    IEndpointNameFormatter endpoints, IServiceProvider services, ServiceMeter meter, IOptions<SummariesOptions> options, IOptions<LlmOptions> llm,
    TimeProvider time, ILogger<SummaryBatches> logger) : BackgroundService
{
    private sealed record QueueCounts(long Waiting, long InJobs, long CountedAt);

    private QueueCounts? _counts;

    private BatchSummariesOptions Batch => options.Value.Batch;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Mode != SummaryMode.Batch || !llm.Value.Enabled)
        {
            return;
        }
        meter.Meter.CreateObservableGauge("conversation_service.summaries.batch_queue", ObserveQueue, "{conversation}",
            "Conversations whose summary waits for a Batch API job, or is in one, as the replica leading the rounds counted last.");
        using var timer = new PeriodicTimer(Batch.Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RoundAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Batch summaries round failed, the next one continues: {Error}", e.Message);
            }
        }
    }

    /// <summary>One round; false when another replica holds the lock.</summary>
    public async Task<bool> RoundAsync(CancellationToken ct)
    {
        await using var lead = await table.TryLeadAsync(ct);
        if (lead is null)
        {
            return false;
        }
        var api = services.GetRequiredService<BatchApi>();
        foreach (var batch in await table.BatchesAsync(ct))
        {
            if ((batch.ProviderId ?? await RecoverAsync(api, batch, ct)) is { } providerId
                && await api.StatusAsync(providerId, ct) is { Done: true } status)
            {
                await ApplyAsync(api, batch, status, ct);
            }
        }
        await DirectAsync(await table.OverdueAsync(time.GetUtcNow() - Batch.MaxWait, ct), ct);
        await SubmitAsync(api, ct);
        var (waiting, inJobs) = await table.CountsAsync(ct);
        _counts = new QueueCounts(waiting, inJobs, time.GetTimestamp());
        return true;
    }

    /// <summary>The last round's counts, while this replica leads (it led a round within two intervals).</summary>
    private IEnumerable<Measurement<long>> ObserveQueue() =>
        _counts is { } counts && time.GetElapsedTime(counts.CountedAt) <= 2 * Batch.Interval
            ? [new(counts.Waiting, new KeyValuePair<string, object?>("state", "waiting")),
               new(counts.InJobs, new KeyValuePair<string, object?>("state", "in_job"))]
            : [];

    /// <summary>The provider's id of a job whose confirmation was not recorded; null (and the job dropped) if it has none.</summary>
    private async Task<string?> RecoverAsync(BatchApi api, SummaryBatch batch, CancellationToken ct)
    {
        if (await api.FindAsync(batch.Id, batch.CreatedAt, ct) is { } providerId)
        {
            await table.SubmittedAsync(batch.Id, providerId, ct);
            return providerId;
        }
        logger.LogWarning("Batch job {Batch} never reached the provider; its summaries wait for the next job", batch.Id);
        await api.DeleteFilesAsync([batch.InputFileId], ct);
        await table.DeleteBatchAsync(batch.Id, ct);
        return null;
    }

    private async Task ApplyAsync(BatchApi api, SummaryBatch batch, BatchStatus status, CancellationToken ct)
    {
        var results = BatchFormat.Results(await api.ReadAsync(status.OutputFileId, ct), await api.ReadAsync(status.ErrorFileId, ct));
        if (results.Values.Any(r => r is LineResult.Answered { UsageReported: false }))
        {
            results = BatchFormat.CountMissingUsage(results, await api.ReadAsync(batch.InputFileId, ct), TokenizerFor);
        }
        var lines = await table.LinesAsync(batch.Id, ct);
        var stored = 0;
        foreach (var line in lines)
        {
            var result = results.GetValueOrDefault(line.LineId) ?? new LineResult.Failed($"job {status.Status}, no answer");
            var cost = result is LineResult.Answered answered ? await RecordAsync(batch, line, answered, ct) : 0m;
            switch (SummaryDecisions.OnBatchAnswer(result))
            {
                case BatchAnswer.Store:
                    stored += await StoreAsync(batch, line, (LineResult.Answered)result, cost, ct) ? 1 : 0;
                    break;
                case var answer when await table.FailedAsync(batch.Id, line, ct) is { } queued
                    && (answer == BatchAnswer.Direct || queued.Attempts >= Batch.MaxAttempts):
                    await DirectAsync([queued], ct);
                    break;
            }
        }
        BatchLog.Applied(logger, batch.Id, status.Status, stored, lines.Count);
        await api.DeleteFilesAsync([batch.InputFileId, status.OutputFileId, status.ErrorFileId], ct);
        await table.DeleteBatchAsync(batch.Id, ct);
    }

    /// <summary>The model's tokenizer; o200k_base for a model the service does not know.</summary>
    private Microsoft.ML.Tokenizers.Tokenizer TokenizerFor(string model) =>
        tokenizers.TryResolve(model, out var tokenizer) ? tokenizer.Tokenizer : tokenizers.ForEncoding("o200k_base");

    /// <summary>
    /// Every answer is billed, stored or not: its usage and the batch price go to the call log, priced by the model asked
    /// for (a provider may answer with a dated name), its latency the time since the summary was first queued; once, even
    /// when a crash makes the next round apply the job again.
    /// </summary>
    private async Task<decimal> RecordAsync(SummaryBatch batch, BatchLine line, LineResult.Answered answer, CancellationToken ct)
    {
        var cost = Pricing.Cost(llm.Value.Prices, line.Model, answer.Usage) * Batch.PriceFactor;
        var now = time.GetUtcNow();
        var call = new LlmCall(line.Tenant, line.ConversationId, CallTypes.BatchSummary, line.Model, answer.Usage, now - line.QueuedAt, cost, now);
        await table.BillOnceAsync(batch.Id, line, transaction => log.RecordAsync(call, ct, transaction), ct);
        return cost;
    }

    private async Task<bool> StoreAsync(SummaryBatch batch, BatchLine line, LineResult.Answered answer, decimal cost, CancellationToken ct)
    {
        var job = await jobs.PrepareAsync(line.Tenant, line.ConversationId, line.ThroughIndex, ct);
        // Stored only onto the summary the request was written from: a direct summary or a deletion since then wins.
        var stored = job is not null && job.SummaryVersion == line.SummaryVersion && job.FromIndex == line.FromIndex
            && job.ThroughIndex == line.ThroughIndex
            && await jobs.StoreAsync(job, new SummaryResult(answer.Text, line.Model, answer.Usage, cost, Batched: true), ct);
        await table.CompletedAsync(batch.Id, line, ct);
        return stored;
    }

    /// <summary>Sends each as a direct command, then takes it off the queue (a repeated command is harmless).</summary>
    private async Task DirectAsync(List<QueuedSummary> due, CancellationToken ct)
    {
        if (due.Count == 0)
        {
            return;
        }
        var queue = await bus.SummaryQueueAsync(endpoints);
        foreach (var summary in due)
        {
            await queue.Send(
                new SummarizeConversation(summary.Tenant, summary.ConversationId, summary.RequestedThrough, time.GetUtcNow(), Direct: true), ct);
            await table.RemoveAsync(summary.Tenant, summary.ConversationId, ct);
        }
        BatchLog.Direct(logger, due.Count);
    }

    private async Task SubmitAsync(BatchApi api, CancellationToken ct)
    {
        var waiting = await table.WaitingAsync(Batch.MaxRequests, ct);
        var model = llm.Value.Tiers[0];
        var lines = new List<(BatchLine Line, string Request)>();
        var direct = new List<QueuedSummary>();
        foreach (var queued in waiting)
        {
            if (await jobs.PrepareAsync(queued.Tenant, queued.ConversationId, queued.RequestedThrough, ct) is not { } job)
            {
                await table.RemoveAsync(queued.Tenant, queued.ConversationId, ct); // deleted, or summarized already
                continue;
            }
            if (await budget.CheckAsync(queued.Tenant, ct) == BudgetState.Exhausted)
            {
                direct.Add(queued); // offline until midnight: the direct path writes the extractive summary
                continue;
            }
            var maxTokens = options.Value.MaxSummaryTokens;
            var line = new BatchLine(lines.Count, job.Tenant, job.ConversationId, job.SummaryVersion, job.FromIndex, job.ThroughIndex,
                model, queued.QueuedAt);
            lines.Add((line, BatchFormat.RequestLine(line.LineId, model, SummaryPrompt.System(maxTokens),
                SummaryPrompt.User(job.FoldBase.Text, job.Turns), maxTokens)));
        }
        await DirectAsync(direct, ct);
        if (lines.Count == 0)
        {
            return;
        }
        var id = Guid.NewGuid();
        await table.CreateBatchAsync(id, [.. lines.Select(l => l.Line)], ct);
        var fileId = await api.UploadAsync(id, BatchFormat.Requests(lines.Select(l => l.Request)), ct);
        await table.FileUploadedAsync(id, fileId, ct);
        var providerId = await api.CreateAsync(id, fileId, Batch.CompletionWindow, ct);
        await table.SubmittedAsync(id, providerId, ct);
        BatchLog.Submitted(logger, id, providerId, lines.Count);
    }
}

internal static partial class BatchLog
{
    [LoggerMessage(LogLevel.Information, "Batch job {Batch} {Status}: {Stored} of {Lines} summaries stored")]
    public static partial void Applied(ILogger logger, Guid batch, string status, int stored, int lines);

    [LoggerMessage(LogLevel.Information, "{Count} summaries run directly (deadline, cut at the output cap, or attempts used up)")]
    public static partial void Direct(ILogger logger, int count);

    [LoggerMessage(LogLevel.Information, "Batch job {Batch} submitted as {ProviderBatch} with {Lines} summaries")]
    public static partial void Submitted(ILogger logger, Guid batch, string providerBatch, int lines);
}

/// <summary>The OpenAI SDK's file and batch clients for <c>Llm:Endpoint</c>; built on first use (only with a key).</summary>
#pragma warning disable OPENAI001 // the Batch client is marked experimental in the OpenAI SDK
public sealed class BatchApi(IOptions<LlmOptions> llm, ILogger<BatchApi> logger)
{
    private readonly OpenAIFileClient _files = LlmResilience.Client(llm.Value).GetOpenAIFileClient();
    private readonly BatchClient _batches = LlmResilience.Client(llm.Value).GetBatchClient();

    public async Task<string> UploadAsync(Guid id, BinaryData requests, CancellationToken ct)
    {
        using var stream = requests.ToStream();
        return (await _files.UploadFileAsync(stream, $"summaries-{id:N}.jsonl", FileUploadPurpose.Batch, ct)).Value.Id;
    }

    public async Task<string> CreateAsync(Guid id, string fileId, string completionWindow, CancellationToken ct)
    {
        var operation = await _batches.CreateBatchAsync(
            BinaryContent.Create(BatchFormat.CreateBody(fileId, completionWindow, id)), waitUntilCompleted: false, Options(ct));
        return operation.BatchId;
    }

    public async Task<BatchStatus> StatusAsync(string providerId, CancellationToken ct) =>
        BatchFormat.Status((await _batches.GetBatchAsync(providerId, Options(ct))).GetRawResponse().Content);

    /// <summary>
    /// The provider's id of a job recorded in the store at <paramref name="recordedAt"/> but never confirmed: searched
    /// among the provider's jobs, newest first, back to a few minutes before it was recorded (clocks differ), at most
    /// <see cref="MaxSearchPages"/> pages of 100.
    /// </summary>
    public async Task<string?> FindAsync(Guid id, DateTimeOffset recordedAt, CancellationToken ct)
    {
        var pages = 0;
        await foreach (var page in _batches.GetBatchesAsync(after: null, limit: 100, Options(ct)).GetRawPagesAsync())
        {
            var content = page.GetRawResponse().Content;
            if (BatchFormat.FindSubmission(content, id) is { } providerId)
            {
                return providerId;
            }
            if (++pages == MaxSearchPages || !BatchFormat.ReachesBack(content, recordedAt - TimeSpan.FromMinutes(10)))
            {
                break;
            }
        }
        return null;
    }

    public const int MaxSearchPages = 20;

    public async Task<string> ReadAsync(string? fileId, CancellationToken ct) =>
        fileId is null ? "" : (await _files.DownloadFileAsync(fileId, ct)).Value.ToString();

    /// <summary>The files hold conversation text: deleted once read. A failure is logged; the provider expires them anyway.</summary>
    public async Task DeleteFilesAsync(IEnumerable<string?> fileIds, CancellationToken ct)
    {
        foreach (var fileId in fileIds.OfType<string>())
        {
            try
            {
                await _files.DeleteFileAsync(fileId, ct);
            }
            catch (ClientResultException e)
            {
                logger.LogWarning("Batch file {File} was not deleted: {Error}", fileId, e.Message);
            }
        }
    }

    private static System.ClientModel.Primitives.RequestOptions Options(CancellationToken ct) => new() { CancellationToken = ct };
}
#pragma warning restore OPENAI001
