using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ConversationService.Tests.Fakes;

/// <summary>How the fake ends a batch once <see cref="FakeOpenAiServer.BatchDelay"/> has passed.</summary>
public abstract record FakeBatchOutcome
{
    /// <summary>Every line answered, by the scripted replies and then the default, as direct chat requests are.</summary>
    public sealed record Complete : FakeBatchOutcome;

    /// <summary>
    /// The completion window runs out: the first <paramref name="ProcessFirst"/> lines are answered, the others are in the
    /// error file with batch_expired.
    /// </summary>
    public sealed record Expire(int ProcessFirst = 0) : FakeBatchOutcome;

    /// <summary>The whole batch fails (as on validation): status failed, this error in errors, no files.</summary>
    public sealed record Fail(string Code = "invalid_request", string Message = "scripted batch failure") : FakeBatchOutcome;
}

/// <summary>A file held by the fake: uploaded, or a batch's output or error file (purpose batch_output).</summary>
public sealed record FakeFile(string Id, string Filename, string Purpose, BinaryData Content, DateTimeOffset CreatedAt);

/// <summary>A batch as it stands (status as of the last request that read it).</summary>
public sealed record FakeBatch(string Id, string InputFileId, IReadOnlyList<string> CustomIds, IReadOnlyDictionary<string, string> Metadata,
    string Status, DateTimeOffset CreatedAt, string? OutputFileId, string? ErrorFileId);

/// <summary>
/// The Files (/v1/files) and Batch (/v1/batches) APIs for /v1/chat/completions. A batch is in_progress until
/// <see cref="BatchDelay"/> (as set when it is read, so a test can release a slow batch) has passed since its creation; the first request that reads it after that ends it as its outcome says
/// (<see cref="EnqueueBatchOutcome"/>, else complete), answering its lines once, in order, like direct chat requests.
/// </summary>
public sealed partial class FakeOpenAiServer
{
    private const string ChatEndpoint = "/v1/chat/completions";
    private static readonly TimeSpan DefaultBatchDelay = TimeSpan.FromMilliseconds(200);
    private readonly Lock _gate = new();
    private readonly List<FakeFile> _files = [];
    private readonly List<BatchState> _batches = [];
    private readonly ConcurrentQueue<FakeBatchOutcome> _outcomes = new();
    private readonly ConcurrentQueue<FakeRequest> _batchLines = new();
    private int _lineCount;

    /// <summary>How long a new batch stays in_progress.</summary>
    public TimeSpan BatchDelay { get; set; } = DefaultBatchDelay;

    public IReadOnlyList<FakeBatch> Batches
    {
        get
        {
            lock (_gate)
            {
                return [.. _batches.Select(b => b.Snapshot())];
            }
        }
    }

    /// <summary>The files not deleted, uploaded ones and batch results, in order of creation.</summary>
    public IReadOnlyList<FakeFile> Files
    {
        get
        {
            lock (_gate)
            {
                return [.. _files];
            }
        }
    }

    /// <summary>The lines of batches answered so far (not in <see cref="ChatRequests"/>), with the line's url as path.</summary>
    public IReadOnlyList<FakeRequest> BatchLines => [.. _batchLines];

    /// <summary>The outcomes of the next batches created, in order; then they complete.</summary>
    public void EnqueueBatchOutcome(params FakeBatchOutcome[] outcomes)
    {
        foreach (var outcome in outcomes)
        {
            _outcomes.Enqueue(outcome);
        }
    }

    private void ResetBatches()
    {
        lock (_gate)
        {
            _files.Clear();
            _batches.Clear();
        }
        _outcomes.Clear();
        _batchLines.Clear();
        BatchDelay = DefaultBatchDelay;
    }

    private void MapBatchApi(WebApplication app)
    {
        app.MapPost("/v1/files", (Delegate)UploadAsync);
        app.MapGet("/v1/files/{id}", (string id) => WithFile(id, file => Results.Json(FileJson(file))));
        app.MapGet("/v1/files/{id}/content", (string id) => WithFile(id, file => Results.Bytes(file.Content.ToArray(), "application/octet-stream")));
        app.MapDelete("/v1/files/{id}", (string id) => WithFile(id, file =>
        {
            _files.Remove(file);
            return Results.Json(new { id, @object = "file", deleted = true });
        }));
        app.MapPost("/v1/batches", (Delegate)CreateBatchAsync);
        app.MapGet("/v1/batches/{id}", (string id) => WithBatch(id, batch => Results.Json(Current(batch))));
        app.MapGet("/v1/batches", ListBatches);
        app.MapPost("/v1/batches/{id}/cancel", (string id) => WithBatch(id, batch =>
        {
            Advance(batch);
            if (batch.Status != "in_progress")
            {
                return Invalid($"Cannot cancel a batch with status '{batch.Status}'.", StatusCodes.Status409Conflict);
            }
            batch.Status = "cancelling";
            batch.CancellingAt = DateTimeOffset.UtcNow;
            return Results.Json(BatchJson(batch));
        }));
    }

    private async Task<IResult> UploadAsync(HttpContext http)
    {
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var upload = form.Files["file"];
        var purpose = form["purpose"].ToString();
        if (upload is null || purpose.Length == 0)
        {
            return Invalid("A file and its purpose are required.");
        }
        using var content = new MemoryStream();
        await upload.CopyToAsync(content, http.RequestAborted);
        lock (_gate)
        {
            return Results.Json(FileJson(AddFile(upload.FileName, purpose, content.ToArray())));
        }
    }

    private async Task<IResult> CreateBatchAsync(HttpContext http)
    {
        var request = (await JsonNode.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted))!;
        var inputFileId = request["input_file_id"]?.GetValue<string>() ?? "";
        if (request["endpoint"]?.GetValue<string>() != ChatEndpoint || request["completion_window"]?.GetValue<string>() != "24h")
        {
            return Invalid($"Only endpoint {ChatEndpoint} with completion_window 24h is supported.");
        }
        var metadata = request["metadata"] is JsonObject given
            ? given.ToDictionary(p => p.Key, p => p.Value!.GetValue<string>())
            : [];
        lock (_gate)
        {
            var input = _files.Find(f => f.Id == inputFileId);
            if (input is null)
            {
                return NotFound("File", inputFileId);
            }
            if (input.Purpose != "batch")
            {
                return Invalid($"File {inputFileId} has purpose '{input.Purpose}', not 'batch'.");
            }
            var lines = input.Content.ToString()
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(line => JsonNode.Parse(line)!)
                .ToArray();
            var now = DateTimeOffset.UtcNow;
            var outcome = _outcomes.TryDequeue(out var next) ? next : new FakeBatchOutcome.Complete();
            var batch = new BatchState("batch_" + Guid.NewGuid().ToString("N"), inputFileId, lines, metadata, outcome, now);
            _batches.Add(batch);
            // OpenAI answers the creation before validating the input file.
            var created = BatchJson(batch);
            created["status"] = "validating";
            created["in_progress_at"] = null;
            return Results.Json(created);
        }
    }

    /// <summary>Newest first, pages after the batch id <paramref name="after"/>, as OpenAI lists them.</summary>
    private IResult ListBatches(string? after, int? limit)
    {
        lock (_gate)
        {
            var newestFirst = Enumerable.Reverse(_batches).ToList();
            var start = after is null ? 0 : newestFirst.FindIndex(b => b.Id == after) + 1;
            var page = newestFirst.Skip(start).Take(limit ?? 20).ToList();
            return Results.Json(new
            {
                @object = "list",
                data = page.Select(Current).ToArray(),
                first_id = page.FirstOrDefault()?.Id,
                last_id = page.LastOrDefault()?.Id,
                has_more = start + page.Count < newestFirst.Count,
            });
        }
    }

    private IResult WithFile(string id, Func<FakeFile, IResult> answer)
    {
        lock (_gate)
        {
            return _files.Find(f => f.Id == id) is { } file ? answer(file) : NotFound("File", id);
        }
    }

    private IResult WithBatch(string id, Func<BatchState, IResult> answer)
    {
        lock (_gate)
        {
            return _batches.Find(b => b.Id == id) is { } batch ? answer(batch) : NotFound("Batch", id);
        }
    }

    /// <summary>The batch as JSON, first ending it if its time has come (under <see cref="_gate"/>).</summary>
    private JsonObject Current(BatchState batch)
    {
        Advance(batch);
        return BatchJson(batch);
    }

    private static JsonObject BatchJson(BatchState batch)
    {
        static long? Unix(DateTimeOffset? at) => at?.ToUnixTimeSeconds();
        return JsonSerializer.SerializeToNode(new
        {
            id = batch.Id,
            @object = "batch",
            endpoint = ChatEndpoint,
            errors = batch.Errors,
            input_file_id = batch.InputFileId,
            completion_window = "24h",
            status = batch.Status,
            output_file_id = batch.OutputFileId,
            error_file_id = batch.ErrorFileId,
            created_at = Unix(batch.CreatedAt),
            in_progress_at = batch.Status == "failed" ? null : Unix(batch.CreatedAt),
            expires_at = Unix(batch.CreatedAt.AddHours(24)),
            finalizing_at = Unix(batch.FinalizingAt),
            completed_at = Unix(batch.CompletedAt),
            failed_at = Unix(batch.FailedAt),
            expired_at = Unix(batch.ExpiredAt),
            cancelling_at = Unix(batch.CancellingAt),
            cancelled_at = Unix(batch.CancelledAt),
            request_counts = new { total = batch.Lines.Count, completed = batch.Completed, failed = batch.Failed },
            metadata = batch.Metadata.Count == 0 ? null : batch.Metadata,
        }, JsonSerializerOptions.Web)!.AsObject();
    }

    private void Advance(BatchState batch)
    {
        var now = DateTimeOffset.UtcNow;
        if (batch.Status == "cancelling")
        {
            (batch.Status, batch.CancelledAt) = ("cancelled", now);
            return;
        }
        if (batch.Status != "in_progress" || now < batch.CreatedAt + BatchDelay)
        {
            return;
        }
        switch (batch.Outcome)
        {
            case FakeBatchOutcome.Fail fail:
                (batch.Status, batch.FailedAt) = ("failed", now);
                batch.Errors = new { @object = "list", data = new[] { new { code = fail.Code, message = fail.Message, param = (string?)null, line = (int?)null } } };
                break;
            case FakeBatchOutcome.Expire expire:
                Run(batch, expire.ProcessFirst, now);
                (batch.Status, batch.ExpiredAt) = ("expired", now);
                break;
            default:
                Run(batch, batch.Lines.Count, now);
                (batch.Status, batch.CompletedAt) = ("completed", now);
                break;
        }
    }

    /// <summary>Answers the first <paramref name="answered"/> lines; writes the output and error files (each only if not empty).</summary>
    private void Run(BatchState batch, int answered, DateTimeOffset now)
    {
        var output = new List<object>();
        var errors = new List<object>();
        foreach (var (line, i) in batch.Lines.Select((line, i) => (line, i)))
        {
            var id = $"batch_req_{Interlocked.Increment(ref _lineCount)}";
            var customId = line["custom_id"]!.GetValue<string>();
            if (i >= answered)
            {
                errors.Add(new
                {
                    id,
                    custom_id = customId,
                    response = (object?)null,
                    error = new { code = "batch_expired", message = "This request could not be executed before the completion window expired." },
                });
                continue;
            }
            var body = line["body"]!;
            var model = body["model"]!.GetValue<string>();
            _batchLines.Enqueue(new FakeRequest(line["url"]!.GetValue<string>(), model, body, now));
            var reply = Next();
            while (reply is FakeReply.Slow slow)
            {
                reply = slow.Then;
            }
            var requestId = "req_" + Guid.NewGuid().ToString("N");
            if (reply is FakeReply.Status status)
            {
                errors.Add(Response(id, customId, status.Code, requestId, ErrorBody(status)));
            }
            else
            {
                var answer = reply as FakeReply.Answer ?? throw new InvalidOperationException($"A batch line can't be answered with {reply}.");
                output.Add(Response(id, customId, StatusCodes.Status200OK, requestId, Complete(body, model, answer).Body));
            }
        }
        (batch.Completed, batch.Failed, batch.FinalizingAt) = (output.Count, errors.Count, now);
        batch.OutputFileId = ResultFile(batch, "output", output);
        batch.ErrorFileId = ResultFile(batch, "error", errors);
    }

    private static object Response(string id, string customId, int statusCode, string requestId, object body) =>
        new { id, custom_id = customId, response = new { status_code = statusCode, request_id = requestId, body }, error = (object?)null };

    private string? ResultFile(BatchState batch, string kind, List<object> lines) =>
        lines.Count == 0
            ? null
            : AddFile($"{batch.Id}_{kind}.jsonl", "batch_output",
                Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => JsonSerializer.Serialize(l, JsonSerializerOptions.Web) + "\n")))).Id;

    private FakeFile AddFile(string filename, string purpose, byte[] content)
    {
        var file = new FakeFile("file-" + Guid.NewGuid().ToString("N"), filename, purpose, BinaryData.FromBytes(content), DateTimeOffset.UtcNow);
        _files.Add(file);
        return file;
    }

    private static object FileJson(FakeFile file) => new
    {
        id = file.Id,
        @object = "file",
        bytes = file.Content.ToMemory().Length,
        created_at = file.CreatedAt.ToUnixTimeSeconds(),
        expires_at = (long?)null,
        filename = file.Filename,
        purpose = file.Purpose,
        status = "processed",
        status_details = (string?)null,
    };

    private static IResult NotFound(string kind, string id) =>
        Results.Json(new { error = new { message = $"No such {kind} object: {id}", type = "invalid_request_error", param = "id", code = (string?)null } },
            statusCode: StatusCodes.Status404NotFound);

    private static IResult Invalid(string message, int statusCode = StatusCodes.Status400BadRequest) =>
        Results.Json(new { error = new { message, type = "invalid_request_error", param = (string?)null, code = (string?)null } }, statusCode: statusCode);

    private sealed class BatchState(string id, string inputFileId, IReadOnlyList<JsonNode> lines, Dictionary<string, string> metadata,
        FakeBatchOutcome outcome, DateTimeOffset createdAt)
    {
        public string Id { get; } = id;
        public string InputFileId { get; } = inputFileId;
        public IReadOnlyList<JsonNode> Lines { get; } = lines;
        public Dictionary<string, string> Metadata { get; } = metadata;
        public FakeBatchOutcome Outcome { get; } = outcome;
        public DateTimeOffset CreatedAt { get; } = createdAt;
        public string Status { get; set; } = "in_progress";
        public object? Errors { get; set; }
        public string? OutputFileId { get; set; }
        public string? ErrorFileId { get; set; }
        public int Completed { get; set; }
        public int Failed { get; set; }
        public DateTimeOffset? FinalizingAt { get; set; }
        public DateTimeOffset? CompletedAt { get; set; }
        public DateTimeOffset? FailedAt { get; set; }
        public DateTimeOffset? ExpiredAt { get; set; }
        public DateTimeOffset? CancellingAt { get; set; }
        public DateTimeOffset? CancelledAt { get; set; }

        public FakeBatch Snapshot() => new(Id, InputFileId, [.. Lines.Select(l => l["custom_id"]!.GetValue<string>())],
            new Dictionary<string, string>(Metadata), Status, CreatedAt, OutputFileId, ErrorFileId);
    }
}
