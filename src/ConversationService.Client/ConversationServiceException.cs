using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ConversationService.Client;

/// <summary>
/// An RFC 9457 problem the service answered with. <see cref="Errors"/> maps each invalid field to its messages;
/// <see cref="Problem"/> is the whole document (extensions included).
/// </summary>
public class ConversationServiceException(
    HttpStatusCode statusCode, string? title, string? detail, IReadOnlyDictionary<string, string[]> errors, JsonObject? problem)
    : Exception(Describe(statusCode, title, detail, errors))
{
    public HttpStatusCode StatusCode { get; } = statusCode;
    public string? Title { get; } = title;
    public string? Detail { get; } = detail;
    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;
    public JsonObject? Problem { get; } = problem;

    /// <summary>The request itself was wrong (4xx): repeating it cannot help.</summary>
    public bool IsClientError => (int)StatusCode is >= 400 and < 500;

    private static string Describe(HttpStatusCode status, string? title, string? detail, IReadOnlyDictionary<string, string[]> errors)
    {
        var fields = errors.Count == 0 ? "" : " Fields: " + string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));
        return $"{(int)status} {title ?? status.ToString()}{(detail is null ? "" : ": " + detail)}{fields}";
    }

    /// <summary>The typed exception for an unsuccessful answer; its body is read when it is a problem document.</summary>
    internal static async Task<ConversationServiceException> FromResponseAsync(HttpResponseMessage response, CancellationToken ct)
    {
        JsonObject? problem = null;
        if (response.Content.Headers.ContentType?.MediaType?.EndsWith("json", StringComparison.Ordinal) == true)
        {
            try
            {
                problem = await JsonNode.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct) as JsonObject;
            }
            catch (JsonException)
            {
                // Not a problem document after all (a proxy's page): the status alone tells what happened.
            }
        }
        var status = response.StatusCode;
        var title = problem?["title"]?.GetValue<string>();
        var detail = problem?["detail"]?.GetValue<string>();
        var errors = problem?["errors"] is JsonObject fields
            ? fields.ToDictionary(
                f => f.Key,
                f => f.Value is JsonArray messages ? [.. messages.Select(m => m?.ToString() ?? "")] : new[] { f.Value?.ToString() ?? "" },
                StringComparer.Ordinal)
            : new Dictionary<string, string[]>(StringComparer.Ordinal);
        return status switch
        {
            HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge =>
                new ConversationServiceValidationException(status, title, detail, errors, problem),
            HttpStatusCode.NotFound => new ConversationServiceNotFoundException(title, detail, errors, problem),
            HttpStatusCode.Conflict => new VersionConflictException(title, detail, errors, problem),
            HttpStatusCode.UnprocessableEntity => new BudgetTooSmallException(title, detail, errors, problem),
            _ => new ConversationServiceException(status, title, detail, errors, problem),
        };
    }
}

/// <summary>400 or 413: <see cref="ConversationServiceException.Errors"/> names the fields.</summary>
public sealed class ConversationServiceValidationException(
    HttpStatusCode statusCode, string? title, string? detail, IReadOnlyDictionary<string, string[]> errors, JsonObject? problem)
    : ConversationServiceException(statusCode, title, detail, errors, problem);

/// <summary>404: the conversation, document or example does not exist for this API key.</summary>
public sealed class ConversationServiceNotFoundException(
    string? title, string? detail, IReadOnlyDictionary<string, string[]> errors, JsonObject? problem)
    : ConversationServiceException(HttpStatusCode.NotFound, title, detail, errors, problem);

/// <summary>
/// 409: If-Match named another version (<see cref="CurrentVersion"/> is the conversation's), or a turn id was
/// reused with other content.
/// </summary>
public sealed class VersionConflictException(
    string? title, string? detail, IReadOnlyDictionary<string, string[]> errors, JsonObject? problem)
    : ConversationServiceException(HttpStatusCode.Conflict, title, detail, errors, problem)
{
    public long? CurrentVersion { get; } = problem?["currentVersion"]?.GetValue<long>();
}

/// <summary>422: the system prompt and the newest user turn need <see cref="RequiredTokens"/>, more than the budget leaves.</summary>
public sealed class BudgetTooSmallException(
    string? title, string? detail, IReadOnlyDictionary<string, string[]> errors, JsonObject? problem)
    : ConversationServiceException(HttpStatusCode.UnprocessableEntity, title, detail, errors, problem)
{
    public int? RequiredTokens { get; } = problem?["requiredTokens"]?.GetValue<int>();
}
