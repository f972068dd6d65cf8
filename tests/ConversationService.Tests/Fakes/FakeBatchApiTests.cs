#pragma warning disable OPENAI001 // The Batch API is experimental in the SDK.
using System.ClientModel;
using System.Text.Json;
using OpenAI;
using OpenAI.Batch;
using OpenAI.Files;

namespace ConversationService.Tests.Fakes;

/// <summary>The fake's Files and Batch APIs, driven only through the OpenAI SDK's clients as the service drives them.</summary>
public sealed class FakeBatchApiTests : IAsyncLifetime
{
    private FakeOpenAiServer _server = null!;
    private OpenAIFileClient _files = null!;
    private BatchClient _batches = null!;

    public async Task InitializeAsync()
    {
        _server = await FakeOpenAiServer.StartAsync();
        var client = new OpenAIClient(new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(_server.Endpoint) });
        _files = client.GetOpenAIFileClient();
        _batches = client.GetBatchClient();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Given_a_batch_of_two_requests_When_its_delay_has_passed_Then_it_completes_and_the_output_file_holds_a_chat_completion_per_line()
    {
        _server.Enqueue(new FakeReply.Answer("First.", PromptTokens: 100, CachedTokens: 20, CompletionTokens: 3),
            new FakeReply.Answer("Second, cut", PromptTokens: 50, CompletionTokens: 4, FinishReason: "length"));
        // Long enough for the read right after the creation to come first on a busy machine.
        _server.BatchDelay = TimeSpan.FromSeconds(2);
        var (id, created) = await CreateAsync("sub-1", "a", "b");

        Assert.Equal("validating", created.GetProperty("status").GetString());
        Assert.Equal("in_progress", Status(await GetAsync(id)));
        var batch = await WaitAsync(id);

        Assert.Equal("completed", Status(batch));
        Assert.Equal((2, 2, 0), Counts(batch));
        Assert.Equal(JsonValueKind.Null, batch.GetProperty("error_file_id").ValueKind);
        Assert.True(batch.GetProperty("completed_at").GetInt64() >= batch.GetProperty("created_at").GetInt64());
        var lines = await DownloadAsync(batch.GetProperty("output_file_id").GetString()!);
        Assert.Equal(["a", "b"], lines.Select(l => l.GetProperty("custom_id").GetString()));
        Assert.All(lines, l => Assert.StartsWith("batch_req_", l.GetProperty("id").GetString(), StringComparison.Ordinal));
        Assert.All(lines, l => Assert.Equal(JsonValueKind.Null, l.GetProperty("error").ValueKind));
        var response = lines[1].GetProperty("response");
        Assert.Equal(200, response.GetProperty("status_code").GetInt32());
        Assert.StartsWith("req_", response.GetProperty("request_id").GetString(), StringComparison.Ordinal);
        var completion = response.GetProperty("body");
        Assert.Equal("chat.completion", completion.GetProperty("object").GetString());
        Assert.Equal("gpt-4o-mini", completion.GetProperty("model").GetString());
        var choice = completion.GetProperty("choices")[0];
        Assert.Equal(("Second, cut", "length"), (choice.GetProperty("message").GetProperty("content").GetString(), choice.GetProperty("finish_reason").GetString()));
        var usage = lines[0].GetProperty("response").GetProperty("body").GetProperty("usage");
        Assert.Equal((100, 3, 103, 20), (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32(),
            usage.GetProperty("total_tokens").GetInt32(), usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32()));
        Assert.Empty(_server.ChatRequests);
        Assert.Equal(2, _server.BatchLines.Count);
        var recorded = Assert.Single(_server.Batches);
        Assert.Equal((id, "completed", "sub-1"), (recorded.Id, recorded.Status, recorded.Metadata["submission"]));
        Assert.Equal(["a", "b"], recorded.CustomIds);
    }

    [Fact]
    public async Task Given_a_line_answered_with_an_error_status_When_the_batch_completes_Then_that_line_is_in_the_error_file_with_its_code()
    {
        _server.Enqueue(new FakeReply.Answer("Fine."), new FakeReply.Status(500));
        var (id, _) = await CreateAsync("sub-2", "ok", "broken");

        var batch = await WaitAsync(id);

        Assert.Equal("completed", Status(batch));
        Assert.Equal((2, 1, 1), Counts(batch));
        Assert.Equal("ok", Assert.Single(await DownloadAsync(batch.GetProperty("output_file_id").GetString()!)).GetProperty("custom_id").GetString());
        var error = Assert.Single(await DownloadAsync(batch.GetProperty("error_file_id").GetString()!));
        Assert.Equal("broken", error.GetProperty("custom_id").GetString());
        Assert.Equal(500, error.GetProperty("response").GetProperty("status_code").GetInt32());
        Assert.Equal("scripted 500", error.GetProperty("response").GetProperty("body").GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Given_a_batch_scripted_to_expire_after_one_line_When_it_ends_Then_the_output_has_that_line_and_the_others_are_batch_expired()
    {
        _server.EnqueueBatchOutcome(new FakeBatchOutcome.Expire(ProcessFirst: 1));
        var (id, _) = await CreateAsync("sub-3", "x", "y", "z");

        var batch = await WaitAsync(id);

        Assert.Equal("expired", Status(batch));
        Assert.Equal((3, 1, 2), Counts(batch));
        Assert.NotEqual(JsonValueKind.Null, batch.GetProperty("expired_at").ValueKind);
        Assert.Equal("x", Assert.Single(await DownloadAsync(batch.GetProperty("output_file_id").GetString()!)).GetProperty("custom_id").GetString());
        var errors = await DownloadAsync(batch.GetProperty("error_file_id").GetString()!);
        Assert.Equal(["y", "z"], errors.Select(e => e.GetProperty("custom_id").GetString()));
        Assert.All(errors, e => Assert.Equal(JsonValueKind.Null, e.GetProperty("response").ValueKind));
        Assert.All(errors, e => Assert.Equal("batch_expired", e.GetProperty("error").GetProperty("code").GetString()));
        Assert.Single(_server.BatchLines);
    }

    [Fact]
    public async Task Given_a_batch_scripted_to_fail_When_it_ends_Then_it_is_failed_with_the_error_and_no_files()
    {
        _server.EnqueueBatchOutcome(new FakeBatchOutcome.Fail("invalid_json_line", "Line 1 is not valid JSON."));
        var (id, _) = await CreateAsync("sub-4", "a");

        var batch = await WaitAsync(id);

        Assert.Equal("failed", Status(batch));
        var error = Assert.Single(batch.GetProperty("errors").GetProperty("data").EnumerateArray());
        Assert.Equal(("invalid_json_line", "Line 1 is not valid JSON."), (error.GetProperty("code").GetString(), error.GetProperty("message").GetString()));
        Assert.Equal((JsonValueKind.Null, JsonValueKind.Null), (batch.GetProperty("output_file_id").ValueKind, batch.GetProperty("error_file_id").ValueKind));
        Assert.Empty(_server.BatchLines);
    }

    [Fact]
    public async Task Given_several_batches_When_listed_page_by_page_Then_the_one_with_a_submission_is_found_by_its_metadata()
    {
        var ids = new List<string>();
        foreach (var submission in new[] { "s1", "s2", "s3" })
        {
            ids.Add((await CreateAsync(submission, "a")).Id);
        }

        var found = new List<(string? Id, string? Submission)>();
        await foreach (var page in _batches.GetBatchesAsync(after: null, limit: 2, options: null).GetRawPagesAsync())
        {
            using var list = JsonDocument.Parse(page.GetRawResponse().Content);
            Assert.Equal("list", list.RootElement.GetProperty("object").GetString());
            found.AddRange(list.RootElement.GetProperty("data").EnumerateArray()
                .Select(b => (b.GetProperty("id").GetString(), b.GetProperty("metadata").GetProperty("submission").GetString())));
        }

        Assert.Equal([(ids[2], "s3"), (ids[1], "s2"), (ids[0], "s1")], found);
    }

    [Fact]
    public async Task Given_a_batch_in_progress_When_cancelled_and_its_files_deleted_Then_it_ends_cancelled_and_the_files_are_gone()
    {
        _server.BatchDelay = TimeSpan.FromMinutes(1);
        var (id, _) = await CreateAsync("sub-5", "a");
        var input = Assert.Single(_server.Files);

        var operation = await CreateBatchOperation.RehydrateAsync(_batches, id);
        var cancel = await operation.CancelAsync(null);
        var deleted = await _files.DeleteFileAsync(input.Id);

        Assert.Equal("cancelling", Status(Parse(cancel)));
        Assert.Equal("cancelled", Status(await GetAsync(id)));
        Assert.True(deleted.Value.Deleted);
        Assert.Empty(_server.Files);
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => _files.DownloadFileAsync(input.Id));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task Given_a_batch_polled_concurrently_When_it_ends_Then_its_lines_are_answered_once()
    {
        var (id, _) = await CreateAsync("sub-7", "a", "b");

        var ends = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => WaitAsync(id)));

        Assert.All(ends, batch => Assert.Equal("completed", Status(batch)));
        Assert.Single(ends.Select(batch => batch.GetProperty("output_file_id").GetString()).Distinct());
        Assert.Equal(2, _server.BatchLines.Count);
        Assert.Equal(2, (await DownloadAsync(ends[0].GetProperty("output_file_id").GetString()!)).Length);
    }

    [Fact]
    public async Task Given_batches_and_files_When_reset_Then_none_remain()
    {
        await CreateAsync("sub-6", "a");

        _server.Reset();

        Assert.Empty(_server.Batches);
        Assert.Empty(_server.Files);
    }

    private async Task<(string Id, JsonElement Created)> CreateAsync(string submission, params string[] customIds)
    {
        var jsonl = string.Concat(customIds.Select(customId => JsonSerializer.Serialize(new
        {
            custom_id = customId,
            method = "POST",
            url = "/v1/chat/completions",
            body = new
            {
                model = "gpt-4o-mini",
                messages = new[] { new { role = "system", content = "Summarize." }, new { role = "user", content = $"Alice: {customId}" } },
                temperature = 0,
                max_completion_tokens = 64,
            },
        }) + "\n"));
        var file = await _files.UploadFileAsync(BinaryData.FromString(jsonl), "summaries.jsonl", FileUploadPurpose.Batch);
        Assert.Equal(("summaries.jsonl", FilePurpose.Batch), (file.Value.Filename, file.Value.Purpose));
        var operation = await _batches.CreateBatchAsync(BinaryContent.Create(BinaryData.FromObjectAsJson(new
        {
            input_file_id = file.Value.Id,
            endpoint = "/v1/chat/completions",
            completion_window = "24h",
            metadata = new { submission },
        })), waitUntilCompleted: false);
        var created = Parse(operation.GetRawResponse());
        Assert.Equal(operation.BatchId, created.GetProperty("id").GetString());
        return (operation.BatchId, created);
    }

    private async Task<JsonElement> GetAsync(string id) => Parse(await _batches.GetBatchAsync(id, null));

    private async Task<JsonElement> WaitAsync(string id)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var batch = await GetAsync(id);
            if (Status(batch) is not ("validating" or "in_progress" or "finalizing" or "cancelling"))
            {
                return batch;
            }
            await Task.Delay(25);
        }
        throw new TimeoutException($"Batch {id} did not end.");
    }

    private async Task<JsonElement[]> DownloadAsync(string fileId)
    {
        var content = await _files.DownloadFileAsync(fileId);
        return [.. content.Value.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement)];
    }

    private static JsonElement Parse(ClientResult result) => Parse(result.GetRawResponse());

    private static JsonElement Parse(System.ClientModel.Primitives.PipelineResponse response) => JsonDocument.Parse(response.Content).RootElement;

    private static string? Status(JsonElement batch) => batch.GetProperty("status").GetString();

    private static (int Total, int Completed, int Failed) Counts(JsonElement batch)
    {
        var counts = batch.GetProperty("request_counts");
        return (counts.GetProperty("total").GetInt32(), counts.GetProperty("completed").GetInt32(), counts.GetProperty("failed").GetInt32());
    }
}
