using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConversationService.Contracts;
using ConversationService.Tokenizers;
using ConversationService.Usage;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Summaries;

/// <summary>A job's state as the provider reports it; <see cref="Done"/> once it will change no more.</summary>
public sealed record BatchStatus(string Status, string? OutputFileId, string? ErrorFileId)
{
    public bool Done => Status is "completed" or "failed" or "expired" or "cancelled";
}

/// <summary>What came back for one line.</summary>
public abstract record LineResult
{
    /// <summary>
    /// The provider answered; <see cref="FinishReason"/> "length" means the answer was cut at the output cap.
    /// <see cref="UsageReported"/> false: the provider sent no usage, so <see cref="Usage"/> is zero until counted locally
    /// (<see cref="BatchFormat.CountMissingUsage"/>).
    /// </summary>
    public sealed record Answered(string Text, string Model, LlmUsage Usage, string? FinishReason, bool Refused, bool UsageReported = true)
        : LineResult;

    public sealed record Failed(string Reason) : LineResult;
}

/// <summary>
/// The Batch API's wire format, pure: request lines for <c>/v1/chat/completions</c> (the same prompt, model settings
/// and output cap as a direct summary), the job object, and the output and error files keyed by <c>custom_id</c>.
/// </summary>
public static class BatchFormat
{
    public const string Endpoint = "/v1/chat/completions";

    /// <summary>The metadata key that ties a provider's job to the job recorded in the store.</summary>
    public const string SubmissionKey = "conversation_service_submission";

    public static string RequestLine(int lineId, string model, string system, string user, int maxTokens) =>
        JsonSerializer.Serialize(new
        {
            custom_id = lineId.ToString(CultureInfo.InvariantCulture),
            method = "POST",
            url = Endpoint,
            body = new
            {
                model,
                messages = new[] { new { role = "system", content = system }, new { role = "user", content = user } },
                temperature = 0,
                max_completion_tokens = maxTokens,
            },
        });

    public static BinaryData Requests(IEnumerable<string> lines) => BinaryData.FromString(string.Join('\n', lines) + "\n");

    public static BinaryData CreateBody(string inputFileId, string completionWindow, Guid submission) =>
        BinaryData.FromObjectAsJson(new
        {
            input_file_id = inputFileId,
            endpoint = Endpoint,
            completion_window = completionWindow,
            metadata = new Dictionary<string, string> { [SubmissionKey] = submission.ToString() },
        });

    public static BatchStatus Status(BinaryData job)
    {
        var node = JsonNode.Parse(job.ToString())!;
        return new BatchStatus(node["status"]?.GetValue<string>() ?? "", Text(node["output_file_id"]), Text(node["error_file_id"]));
    }

    /// <summary>The provider's id of the job recorded as <paramref name="submission"/>, from a page of GET /v1/batches.</summary>
    public static string? FindSubmission(BinaryData list, Guid submission) =>
        JsonNode.Parse(list.ToString())?["data"]?.AsArray()
            .FirstOrDefault(b => Text(b?["metadata"]?[SubmissionKey]) == submission.ToString())?["id"]?.GetValue<string>();

    /// <summary>
    /// Whether the pages after this one of GET /v1/batches (newest first) may still hold a job created at or after
    /// <paramref name="since"/>: there are more, and every job on this one is that recent.
    /// </summary>
    public static bool ReachesBack(BinaryData list, DateTimeOffset since)
    {
        var page = JsonNode.Parse(list.ToString());
        return page?["has_more"]?.GetValue<bool>() == true
            && (page["data"]?.AsArray() ?? []).All(b => b?["created_at"]?.GetValue<long>() >= since.ToUnixTimeSeconds());
    }

    /// <summary>Every line of the output and error files by line id; a line in neither is missing (the job failed or expired).</summary>
    public static Dictionary<int, LineResult> Results(string output, string errors)
    {
        var results = new Dictionary<int, LineResult>();
        foreach (var node in Lines(errors).Concat(Lines(output)))
        {
            if (!int.TryParse(Text(node["custom_id"]), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                continue;
            }
            results[id] = Readable(node);
        }
        return results;
    }

    /// <summary>
    /// Answers that came without usage, counted as a direct call without usage is: the request's chat tokens from the
    /// input file and the answer's tokens, with the tokenizer of the model asked for.
    /// </summary>
    public static Dictionary<int, LineResult> CountMissingUsage(
        Dictionary<int, LineResult> results, string input, Func<string, Tokenizer> tokenizerFor)
    {
        foreach (var request in Lines(input))
        {
            if (int.TryParse(Text(request["custom_id"]), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
                && results.GetValueOrDefault(id) is LineResult.Answered { UsageReported: false } answered)
            {
                var tokenizer = tokenizerFor(Text(request["body"]?["model"]) ?? answered.Model);
                var messages = (request["body"]?["messages"]?.AsArray() ?? [])
                    .Select(m => new ChatMessage(Text(m?["role"]) ?? "", Text(m?["content"]) ?? ""));
                results[id] = answered with { Usage = Pricing.Counted(tokenizer, messages, answered.Text) };
            }
        }
        return results;
    }

    private static LineResult Readable(JsonNode line)
    {
        try
        {
            return Result(line);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            return new LineResult.Failed($"unreadable answer: {e.Message}");
        }
    }

    private static LineResult Result(JsonNode line)
    {
        var response = line["response"];
        var status = response?["status_code"]?.GetValue<int>() ?? 0;
        if (line["error"] is JsonObject || status != 200 || response?["body"] is not JsonObject body)
        {
            var reason = line["error"]?["code"] ?? response?["body"]?["error"]?["message"];
            return new LineResult.Failed($"status {status}: {Text(reason) ?? "no answer"}");
        }
        var choice = body["choices"]?[0];
        var usage = body["usage"];
        return new LineResult.Answered(
            Text(choice?["message"]?["content"])?.Trim() ?? "",
            Text(body["model"]) ?? "",
            new LlmUsage(
                usage?["prompt_tokens"]?.GetValue<int>() ?? 0,
                usage?["prompt_tokens_details"]?["cached_tokens"]?.GetValue<int>() ?? 0,
                usage?["completion_tokens"]?.GetValue<int>() ?? 0),
            Text(choice?["finish_reason"]),
            Text(choice?["message"]?["refusal"]) is { Length: > 0 },
            UsageReported: usage?["prompt_tokens"] is not null && usage["completion_tokens"] is not null);
    }

    /// <summary>The JSON objects of a JSONL file; a line that is not one is skipped (its request counts as unanswered).</summary>
    private static IEnumerable<JsonNode> Lines(string jsonl) =>
        jsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(Parse)
            .OfType<JsonObject>();

    private static JsonNode? Parse(string line)
    {
        try
        {
            return JsonNode.Parse(line);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}
