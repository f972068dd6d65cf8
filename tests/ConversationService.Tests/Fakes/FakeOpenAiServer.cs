using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConversationService.Tokenizers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ConversationService.Tests.Fakes;

/// <summary>What the fake answers to one request.</summary>
public abstract record FakeReply
{
    /// <summary>
    /// A completion or embeddings; null token counts are counted with o200k like a real provider would.
    /// <paramref name="OmitUsage"/> leaves the usage field out of an embeddings answer, as some providers do;
    /// <paramref name="FinishReason"/> "length" says the answer was cut at the output cap.
    /// </summary>
    public sealed record Answer(string? Content = null, int? PromptTokens = null, int CachedTokens = 0, int? CompletionTokens = null,
        string? Refusal = null, bool OmitUsage = false, string FinishReason = "stop") : FakeReply;

    public sealed record Status(int Code, string? RetryAfter = null) : FakeReply;

    public sealed record Slow(TimeSpan Delay, FakeReply Then) : FakeReply;

    /// <summary>Holds the request until the client gives up.</summary>
    public sealed record Never : FakeReply;
}

public sealed record FakeRequest(string Path, string Model, JsonNode Body, DateTimeOffset At);

/// <summary>
/// A local OpenAI-compatible server (/v1/chat/completions, streamed or not, /v1/embeddings, and the Files and Batch APIs) with
/// usage fields, scriptable per request: queued replies are used first, then <see cref="Default"/>.
/// </summary>
public sealed partial class FakeOpenAiServer : IAsyncDisposable
{
    private static readonly ExactTiktokenTokenizer Tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<FakeReply> _script = new();
    private readonly ConcurrentQueue<FakeRequest> _requests = new();

    private FakeOpenAiServer(WebApplication app) => _app = app;

    public string Endpoint => _app.Urls.First() + "/v1";

    public FakeReply Default { get; set; } = new FakeReply.Answer();

    public IReadOnlyList<FakeRequest> Requests => [.. _requests];

    public IReadOnlyList<FakeRequest> ChatRequests => Requests.Where(r => r.Path.EndsWith("chat/completions", StringComparison.Ordinal)).ToList();

    public IReadOnlyList<FakeRequest> EmbeddingRequests => Requests.Where(r => r.Path.EndsWith("embeddings", StringComparison.Ordinal)).ToList();

    /// <summary>Every text sent for embedding, in order (one entry per input of every request).</summary>
    public IReadOnlyList<string> EmbeddedTexts => [.. EmbeddingRequests.SelectMany(r => Inputs(r.Body))];

    public void Enqueue(params FakeReply[] replies)
    {
        foreach (var reply in replies)
        {
            _script.Enqueue(reply);
        }
    }

    public void Reset()
    {
        _script.Clear();
        _requests.Clear();
        Default = new FakeReply.Answer();
        ResetBatches();
    }

    public static async Task<FakeOpenAiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeOpenAiServer(app);
        app.MapPost("/v1/chat/completions", (Delegate)server.ChatAsync);
        app.MapPost("/v1/embeddings", (Delegate)server.EmbeddingsAsync);
        server.MapBatchApi(app);
        await app.StartAsync();
        return server;
    }

    private FakeReply Next() => _script.TryDequeue(out var reply) ? reply : Default;

    private async Task<IResult> ChatAsync(HttpContext http)
    {
        var (body, model, reply) = await ReceiveAsync(http);
        if (reply is FakeReply.Status status)
        {
            return Fail(http, status);
        }
        var completion = Complete(body, model, (FakeReply.Answer)reply);
        if (body["stream"]?.GetValue<bool>() == true)
        {
            await StreamAsync(http, model, completion.Content, completion.Usage);
            return Results.Empty;
        }
        return Results.Json(completion.Body);
    }

    /// <summary>The chat.completion a non-streamed request is answered with (directly or as a line of a batch).</summary>
    private static Completion Complete(JsonNode body, string model, FakeReply.Answer answer)
    {
        var messages = body["messages"]!.AsArray()
            .Select(m => new ChatMessage(m!["role"]!.GetValue<string>(), m["content"]!.GetValue<string>()))
            .ToArray();
        var content = answer.Content ?? DefaultSummary(messages[^1].Content);
        var prompt = answer.PromptTokens ?? Tokenizer.CountChatTokens(messages);
        var completion = answer.CompletionTokens ?? Tokenizer.CountTokens(content);
        var usage = new
        {
            prompt_tokens = prompt,
            completion_tokens = completion,
            total_tokens = prompt + completion,
            prompt_tokens_details = new { cached_tokens = answer.CachedTokens },
        };
        return new Completion(content, usage, new
        {
            id = "chatcmpl-fake",
            @object = "chat.completion",
            created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            model,
            choices = new[]
            {
                new
                {
                    index = 0,
                    message = new { role = "assistant", content, refusal = answer.Refusal },
                    finish_reason = answer.FinishReason,
                },
            },
            usage,
        });
    }

    private sealed record Completion(string Content, object Usage, object Body);

    /// <summary>The answer as server-sent chunks of a few words each, then the finish reason and the usage, as OpenAI streams.</summary>
    private static async Task StreamAsync(HttpContext http, string model, string content, object usage)
    {
        http.Response.ContentType = "text/event-stream";
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        async Task SendAsync(object[] choices, object? usage = null)
        {
            var chunk = JsonSerializer.Serialize(new { id = "chatcmpl-fake", @object = "chat.completion.chunk", created, model, choices, usage });
            await http.Response.WriteAsync($"data: {chunk}\n\n");
            await http.Response.Body.FlushAsync();
        }
        foreach (var piece in content.Split(' ').Chunk(3).Select((words, i) => (i == 0 ? "" : " ") + string.Join(' ', words)))
        {
            await SendAsync([new { index = 0, delta = new { role = "assistant", content = piece }, finish_reason = (string?)null }]);
        }
        await SendAsync([new { index = 0, delta = new { }, finish_reason = "stop" }]);
        await SendAsync([], usage);
        await http.Response.WriteAsync("data: [DONE]\n\n");
    }

    private async Task<IResult> EmbeddingsAsync(HttpContext http)
    {
        var (body, model, reply) = await ReceiveAsync(http);
        if (reply is FakeReply.Status status)
        {
            return Fail(http, status);
        }
        var answer = (FakeReply.Answer)reply;
        var inputs = Inputs(body);
        var tokens = answer.PromptTokens ?? inputs.Sum(input => Tokenizer.CountTokens(input));
        var data = inputs.Select((text, i) => new { @object = "embedding", index = i, embedding = Embed(text) }).ToArray();
        return answer.OmitUsage
            ? Results.Json(new { @object = "list", model, data })
            : Results.Json(new { @object = "list", model, data, usage = new { prompt_tokens = tokens, total_tokens = tokens } });
    }

    private async Task<(JsonNode Body, string Model, FakeReply Reply)> ReceiveAsync(HttpContext http)
    {
        var body = (await JsonNode.ParseAsync(http.Request.Body))!;
        var model = body["model"]!.GetValue<string>();
        _requests.Enqueue(new FakeRequest(http.Request.Path, model, body, DateTimeOffset.UtcNow));
        return (body, model, await ResolveAsync(Next(), http.RequestAborted));
    }

    private static IResult Fail(HttpContext http, FakeReply.Status status)
    {
        if (status.RetryAfter is not null)
        {
            http.Response.Headers.RetryAfter = status.RetryAfter;
        }
        return Results.Json(ErrorBody(status), statusCode: status.Code);
    }

    private static object ErrorBody(FakeReply.Status status) => new { error = new { message = $"scripted {status.Code}", type = "fake" } };

    private static string[] Inputs(JsonNode body) =>
        body["input"] is JsonArray array ? [.. array.Select(i => i!.GetValue<string>())] : [body["input"]!.GetValue<string>()];

    private static async Task<FakeReply> ResolveAsync(FakeReply reply, CancellationToken aborted)
    {
        while (true)
        {
            switch (reply)
            {
                case FakeReply.Slow slow:
                    await Task.Delay(slow.Delay, aborted);
                    reply = slow.Then;
                    break;
                case FakeReply.Never:
                    await Task.Delay(Timeout.Infinite, aborted);
                    break;
                default:
                    return reply;
            }
        }
    }

    // The first line of each new turn, so a test can see which turns a summary covered.
    private static string DefaultSummary(string user) =>
        "Summary: " + string.Join(" ", user.Split('\n').Where(l => l.Contains(": ", StringComparison.Ordinal)).Take(3));

    private static float[] Embed(string text)
    {
        var vector = new float[8];
        foreach (var c in text)
        {
            vector[c % 8] += 1;
        }
        return vector;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
