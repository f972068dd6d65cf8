using System.Diagnostics.Metrics;
using System.Net;
using ConversationService.Hosting;
using ConversationService.Summaries;
using ConversationService.Tests.Fakes;
using ConversationService.Tests.Infrastructure;
using ConversationService.Usage;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Npgsql;

namespace ConversationService.Tests.Summaries;

/// <summary>
/// Batch mode against the fake's /v1/files and /v1/batches, on real PostgreSQL and RabbitMQ. Each instance here rounds
/// only when a test says so (Interval of an hour), except in the two-replica test.
/// </summary>
[Collection(LlmCollection.Name)]
public sealed class BatchSummaryTests : IAsyncLifetime
{
    private readonly LlmFixture _fixture;
    private readonly ApiClient _api;
    private readonly List<WebApplicationFactory<Program>> _instances = [];

    public BatchSummaryTests(LlmFixture fixture)
    {
        _fixture = fixture;
        _fixture.Llm.Reset();
        _fixture.Llm.BatchDelay = TimeSpan.Zero;
        _api = fixture.Client();
    }

    public async Task InitializeAsync()
    {
        // The queue is shared by the collection's database: start from an empty one.
        await using var connection = new NpgsqlConnection(_fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "DELETE FROM conversations.summary_batch_queue; DELETE FROM conversations.summary_batches;", connection);
        try
        {
            await command.ExecuteNonQueryAsync();
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            // no instance created the tables yet
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }
    }

    private WebApplicationFactory<Program> Instance(Dictionary<string, string?>? settings = null, string? prefix = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Messaging:EndpointPrefix"] = prefix ?? $"{_fixture.EndpointPrefix}{Guid.NewGuid():N}"[..24] + "-",
            ["Summaries:Mode"] = "Batch",
            ["Summaries:Batch:Interval"] = "01:00:00",
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }
        var instance = _fixture.CreateFactory(all);
        _instances.Add(instance);
        using var client = instance.CreateClient(); // started: its consumers listen
        return instance;
    }

    private static Task<bool> RoundAsync(WebApplicationFactory<Program> instance) =>
        instance.Services.GetRequiredService<SummaryBatches>().RoundAsync(CancellationToken.None);

    private static async Task<(long Waiting, long InBatch)> WaitForQueueAsync(WebApplicationFactory<Program> instance, long waiting)
    {
        var table = instance.Services.GetRequiredService<SummaryBatchTable>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var counts = await table.CountsAsync(CancellationToken.None);
            if (counts.Waiting >= waiting || DateTime.UtcNow > deadline)
            {
                return counts;
            }
            await Task.Delay(50);
        }
    }

    private async Task<string[]> ConversationsAsync(int count)
    {
        var ids = Enumerable.Range(0, count).Select(_ => ApiClient.NewId()).ToArray();
        foreach (var id in ids)
        {
            await SummaryProbe.PostTurnsAsync(_api, id, 10);
        }
        return ids;
    }

    [Fact]
    public async Task Given_batch_mode_When_summaries_are_due_Then_one_job_answers_them_at_half_the_price_and_usage_shows_batch_cost()
    {
        var instance = Instance();
        var ids = await ConversationsAsync(3);
        foreach (var id in ids)
        {
            await SummaryProbe.SendAsync(instance, id, 6);
        }
        Assert.Equal((3, 0), await WaitForQueueAsync(instance, 3));
        Assert.Empty(_fixture.Llm.ChatRequests);
        using var gauge = new MetricCollector<long>(
            instance.Services.GetRequiredService<IMeterFactory>(), Telemetry.Name, "conversation_service.summaries.batch_queue");

        Assert.True(await RoundAsync(instance));
        var job = Assert.Single(_fixture.Llm.Batches);
        Assert.Equal(3, job.CustomIds.Count);
        Assert.Equal((0, 3), await WaitForQueueAsync(instance, 0));
        gauge.RecordObservableInstruments();
        Assert.Equal(["in_job=3", "waiting=0"], gauge.GetMeasurementSnapshot().Select(m => $"{m.Tags["state"]}={m.Value}").Order());
        _fixture.Llm.Enqueue(Enumerable.Repeat<FakeReply>(new FakeReply.Answer("Alice moved the review to room 104.",
            PromptTokens: 1_000, CachedTokens: 200, CompletionTokens: 50), 3).ToArray());

        await RoundAsync(instance);

        foreach (var id in ids)
        {
            var summary = Assert.Single(await SummaryProbe.SummariesAsync(_fixture.ConnectionString, id));
            Assert.Equal(((1, 6), "gpt-4.1-nano", true), (summary.Range, summary.Model, summary.Batched));
            // Half of 800 uncached * 0.10 + 200 cached * 0.025 + 50 out * 0.40, per 1M tokens.
            Assert.Equal(0.0000525m, summary.CostUsd);
        }
        Assert.Empty(_fixture.Llm.ChatRequests);
        Assert.Equal((0, 0), await WaitForQueueAsync(instance, 0));
        gauge.RecordObservableInstruments();
        Assert.Equal(0, gauge.LastMeasurement!.Value);
        var usage = (await _api.GetAsync("/usage?groupBy=callType")).Expect(HttpStatusCode.OK).Body;
        var batch = usage["groups"]!.AsArray().Single(g => g!["key"]!.GetValue<string>() == "summary_batch")!;
        Assert.True(batch["calls"]!.GetValue<int>() >= 3);
        Assert.True(batch["costUsd"]!.GetValue<decimal>() >= 3 * 0.0000525m);
    }

    [Fact]
    public async Task Given_a_failed_line_When_the_job_returns_Then_it_joins_the_next_job_and_after_its_attempts_runs_directly()
    {
        var instance = Instance(new() { ["Summaries:Batch:MaxAttempts"] = "2" });
        var (failing, fine) = (await ConversationsAsync(2)) switch { var ids => (ids[0], ids[1]) };
        await SummaryProbe.SendAsync(instance, failing, 6);
        await WaitForQueueAsync(instance, 1);
        await SummaryProbe.SendAsync(instance, fine, 6);
        await WaitForQueueAsync(instance, 2);
        await RoundAsync(instance); // job 1: both

        _fixture.Llm.Enqueue(new FakeReply.Status(500));
        await RoundAsync(instance); // applies job 1 (the first line fails), submits job 2 with it
        Assert.True(Assert.Single(await SummaryProbe.SummariesAsync(_fixture.ConnectionString, fine)).Batched);
        Assert.Empty(await SummaryProbe.SummariesAsync(_fixture.ConnectionString, failing));
        Assert.Equal(2, _fixture.Llm.Batches.Count);
        Assert.Single(_fixture.Llm.Batches[1].CustomIds);

        _fixture.Llm.Enqueue(new FakeReply.Status(500));
        await RoundAsync(instance); // applies job 2: its second attempt failed, so it runs directly

        var summary = Assert.Single(await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, failing, 1));
        Assert.Equal(((1, 6), false), (summary.Range, summary.Batched));
        Assert.Single(_fixture.Llm.ChatRequests);
        Assert.Equal(2, _fixture.Llm.Batches.Count);
    }

    [Fact]
    public async Task Given_a_job_that_expires_half_done_When_it_returns_Then_the_answered_half_is_stored_and_the_rest_resubmitted()
    {
        var instance = Instance();
        var ids = await ConversationsAsync(2);
        await SummaryProbe.SendAsync(instance, ids[0], 6);
        await WaitForQueueAsync(instance, 1);
        await SummaryProbe.SendAsync(instance, ids[1], 6);
        await WaitForQueueAsync(instance, 2);
        _fixture.Llm.EnqueueBatchOutcome(new FakeBatchOutcome.Expire(ProcessFirst: 1));
        await RoundAsync(instance);

        await RoundAsync(instance); // applies the expired job, submits the unanswered line again
        Assert.Single(await SummaryProbe.SummariesAsync(_fixture.ConnectionString, ids[0]));
        Assert.Empty(await SummaryProbe.SummariesAsync(_fixture.ConnectionString, ids[1]));
        Assert.Equal(2, _fixture.Llm.Batches.Count);

        await RoundAsync(instance);
        Assert.True(Assert.Single(await SummaryProbe.SummariesAsync(_fixture.ConnectionString, ids[1])).Batched);
        Assert.Empty(_fixture.Llm.ChatRequests);
    }

    [Fact]
    public async Task Given_a_failed_job_When_it_returns_Then_its_summaries_are_resubmitted()
    {
        var instance = Instance();
        var id = (await ConversationsAsync(1))[0];
        await SummaryProbe.SendAsync(instance, id, 6);
        await WaitForQueueAsync(instance, 1);
        _fixture.Llm.EnqueueBatchOutcome(new FakeBatchOutcome.Fail());
        await RoundAsync(instance);

        await RoundAsync(instance);
        await RoundAsync(instance);

        Assert.True(Assert.Single(await SummaryProbe.SummariesAsync(_fixture.ConnectionString, id)).Batched);
        Assert.Equal(2, _fixture.Llm.Batches.Count);
    }

    [Fact]
    public async Task Given_a_job_slower_than_the_deadline_When_it_passes_Then_the_summary_runs_directly_and_the_late_answer_is_billed_not_stored()
    {
        var instance = Instance(new() { ["Summaries:Batch:MaxWait"] = "00:00:01" });
        var id = (await ConversationsAsync(1))[0];
        _fixture.Llm.BatchDelay = TimeSpan.FromHours(1);
        await SummaryProbe.SendAsync(instance, id, 6);
        await WaitForQueueAsync(instance, 1);
        await RoundAsync(instance);
        await Task.Delay(1_200);

        await RoundAsync(instance);

        var summary = Assert.Single(await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 1));
        Assert.False(summary.Batched);
        Assert.Single(_fixture.Llm.ChatRequests);

        _fixture.Llm.BatchDelay = TimeSpan.Zero;
        await RoundAsync(instance);
        await Task.Delay(300);
        Assert.Single(await SummaryProbe.SummariesAsync(_fixture.ConnectionString, id));
        await using var connection = new NpgsqlConnection(_fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM conversations.llm_calls WHERE conversation_id = $1 AND call_type = 'summary_batch'", connection);
        command.Parameters.Add(new() { Value = id });
        Assert.Equal(1L, await command.ExecuteScalarAsync());
        Assert.Equal((0, 0), await WaitForQueueAsync(instance, 0));
    }

    [Fact]
    public async Task Given_a_backlog_larger_than_allowed_When_a_summary_is_due_Then_it_runs_directly_without_waiting()
    {
        var instance = Instance(new() { ["Summaries:Batch:MaxBacklogTokens"] = "100" });
        var id = (await ConversationsAsync(1))[0];

        await SummaryProbe.SendAsync(instance, id, 6);

        var summary = Assert.Single(await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 1));
        Assert.False(summary.Batched);
        Assert.Single(_fixture.Llm.ChatRequests);
        Assert.Equal((0, 0), await WaitForQueueAsync(instance, 0));
    }

    [Fact]
    public async Task Given_a_submitted_job_When_the_instance_restarts_Then_the_new_one_applies_it()
    {
        var first = Instance();
        var id = (await ConversationsAsync(1))[0];
        await SummaryProbe.SendAsync(first, id, 6);
        await WaitForQueueAsync(first, 1);
        await RoundAsync(first);
        await first.DisposeAsync();
        _instances.Remove(first);

        var second = Instance();
        await RoundAsync(second);

        Assert.True(Assert.Single(await SummaryProbe.SummariesAsync(_fixture.ConnectionString, id)).Batched);
        Assert.Single(_fixture.Llm.Batches);
    }

    [Fact]
    public async Task Given_a_job_recorded_but_not_confirmed_When_a_round_recovers_it_Then_one_the_provider_has_is_kept_and_one_it_lacks_is_resubmitted()
    {
        var instance = Instance();
        var (kept, lost) = (await ConversationsAsync(2)) switch { var ids => (ids[0], ids[1]) };
        var table = instance.Services.GetRequiredService<SummaryBatchTable>();
        var api = instance.Services.GetRequiredService<BatchApi>();
        var jobs = instance.Services.GetRequiredService<SummaryJobs>();
        async Task<Guid> RecordAsync(string id)
        {
            await table.QueueAsync("tenant-a", id, 6, CancellationToken.None);
            var job = (await jobs.PrepareAsync("tenant-a", id, 6, CancellationToken.None))!;
            var batchId = Guid.NewGuid();
            await table.CreateBatchAsync(batchId, [new BatchLine(0, "tenant-a", id, job.SummaryVersion, job.FromIndex, job.ThroughIndex,
                "gpt-4.1-nano", DateTimeOffset.UtcNow)], CancellationToken.None);
            return batchId;
        }
        // The replica died after the provider created the first job and before it recorded that; the second never got there.
        var keptBatch = await RecordAsync(kept);
        var keptJob = (await jobs.PrepareAsync("tenant-a", kept, 6, CancellationToken.None))!;
        var file = await api.UploadAsync(keptBatch, BatchFormat.Requests([BatchFormat.RequestLine(0, "gpt-4.1-nano",
            SummaryPrompt.System(200), SummaryPrompt.User(null, keptJob.Turns), 200)]), CancellationToken.None);
        await api.CreateAsync(keptBatch, file, "24h", CancellationToken.None);
        // Other jobs of the account since: the provider lists the first on its second page.
        for (var i = 0; i < 120; i++)
        {
            await api.CreateAsync(Guid.NewGuid(), file, "24h", CancellationToken.None);
        }
        await RecordAsync(lost);
        var submitted = _fixture.Llm.Batches.Count;

        await RoundAsync(instance); // finds the first (done already), resubmits the second's conversation as a new job
        Assert.Equal(submitted + 1, _fixture.Llm.Batches.Count);
        Assert.True(Assert.Single(await SummaryProbe.SummariesAsync(_fixture.ConnectionString, kept)).Batched);
        await RoundAsync(instance);

        Assert.True(Assert.Single(await SummaryProbe.SummariesAsync(_fixture.ConnectionString, lost)).Batched);
        Assert.Equal(submitted + 1, _fixture.Llm.Batches.Count);
    }

    [Fact]
    public async Task Given_an_answer_billed_once_When_its_job_is_applied_again_after_a_crash_Then_its_cost_is_not_recorded_twice()
    {
        var instance = Instance();
        var id = (await ConversationsAsync(1))[0];
        var table = instance.Services.GetRequiredService<SummaryBatchTable>();
        var log = instance.Services.GetRequiredService<LlmCallLog>();
        await table.QueueAsync("tenant-a", id, 6, CancellationToken.None);
        var batchId = Guid.NewGuid();
        var line = new BatchLine(0, "tenant-a", id, 0, 1, 6, "gpt-4.1-nano", DateTimeOffset.UtcNow);
        await table.CreateBatchAsync(batchId, [line], CancellationToken.None);
        var call = new LlmCall("tenant-a", id, CallTypes.BatchSummary, "gpt-4.1-nano",
            new(1_000, 0, 50), TimeSpan.FromSeconds(1), 0.0001m, DateTimeOffset.UtcNow);

        // A failure while billing rolls the mark back; the next try bills; a third (the job applied again) does not.
        await Assert.ThrowsAsync<TimeoutException>(() => table.BillOnceAsync(batchId, line, async transaction =>
        {
            await log.RecordAsync(call, CancellationToken.None, transaction);
            throw new TimeoutException("the replica died here");
        }, CancellationToken.None));
        Assert.True(await table.BillOnceAsync(batchId, line, t => log.RecordAsync(call, CancellationToken.None, t), CancellationToken.None));
        Assert.False(await table.BillOnceAsync(batchId, line, t => log.RecordAsync(call, CancellationToken.None, t), CancellationToken.None));

        await using var connection = new NpgsqlConnection(_fixture.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand(
            "SELECT count(*) FROM conversations.llm_calls WHERE conversation_id = $1", connection) { Parameters = { new() { Value = id } } };
        Assert.Equal(1L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Given_two_replicas_in_batch_mode_When_many_summaries_are_due_Then_each_is_submitted_once_and_stored_once()
    {
        var prefix = $"{_fixture.EndpointPrefix}{Guid.NewGuid():N}"[..24] + "-";
        Dictionary<string, string?> fast = new() { ["Summaries:Batch:Interval"] = "00:00:00.100" };
        var replicas = new[] { Instance(fast, prefix), Instance(fast, prefix) };
        var ids = await ConversationsAsync(8);

        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            await SummaryProbe.SendAsync(replicas[i % 2], id, 6);
        }

        foreach (var id in ids)
        {
            var summary = Assert.Single(await SummaryProbe.WaitForSummariesAsync(_fixture.ConnectionString, id, 1));
            Assert.True(summary.Batched);
        }
        await Task.Delay(500);
        Assert.Equal(8, _fixture.Llm.Batches.Sum(b => b.CustomIds.Count));
        foreach (var id in ids)
        {
            Assert.Single(await SummaryProbe.SummariesAsync(_fixture.ConnectionString, id));
        }
    }
}
