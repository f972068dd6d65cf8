using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ConversationService.Client;

/// <summary>
/// The typed client of ConversationService's HTTP contract. Register it with
/// <c>services.AddConversationServiceClient(...)</c>; its HttpClient comes from IHttpClientFactory with the key,
/// the base address and the retry policy of <see cref="ConversationServiceClientOptions"/>.
/// </summary>
public sealed class ConversationServiceClient(HttpClient http)
{
    /// <summary>Traces of the client and of the chat middleware.</summary>
    public static readonly ActivitySource ActivitySource = new("ConversationService.Client");

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Marks a request that may be sent again after a transient failure (see the retry policy).</summary>
    internal static readonly HttpRequestOptionsKey<bool> Retryable = new("ConversationService.Retryable");

    public Task<Conversation> PutConversationAsync(
        string id, ConversationSettings settings, long? expectedVersion = null, CancellationToken ct = default) =>
        SendAsync<Conversation>(HttpMethod.Put, $"conversations/{Escape(id)}", settings, expectedVersion, ct);

    public Task<Conversation> GetConversationAsync(string id, CancellationToken ct = default) =>
        SendAsync<Conversation>(HttpMethod.Get, $"conversations/{Escape(id)}", null, null, ct);

    /// <summary>Deletes the conversation and erases its content.</summary>
    public Task DeleteConversationAsync(string id, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"conversations/{Escape(id)}", null, null, ct);

    /// <summary>
    /// Appends one turn (the conversation is created if absent); with <paramref name="expectedVersion"/> only while the
    /// conversation is at that version. A turn without an id gets one here, so a retry cannot store it twice.
    /// </summary>
    public Task<AppendedTurns> AppendTurnAsync(
        string conversationId, NewTurn turn, long? expectedVersion = null, CancellationToken ct = default) =>
        SendAsync<AppendedTurns>(
            HttpMethod.Post, $"conversations/{Escape(conversationId)}/turns", WithId(turn), expectedVersion, ct, idempotent: true);

    /// <summary>Appends turns atomically: all or none. Turns without ids get them here.</summary>
    public Task<AppendedTurns> AppendTurnsAsync(
        string conversationId, IEnumerable<NewTurn> turns, long? expectedVersion = null, CancellationToken ct = default) =>
        SendAsync<AppendedTurns>(
            HttpMethod.Post, $"conversations/{Escape(conversationId)}/turns", new TurnBatch([.. turns.Select(WithId)]),
            expectedVersion, ct, idempotent: true);

    /// <summary>Turns with index above <paramref name="after"/> (0: from the first), oldest first.</summary>
    public Task<TurnPage> GetTurnsAsync(string conversationId, int? after = null, int? limit = null, CancellationToken ct = default) =>
        SendAsync<TurnPage>(
            HttpMethod.Get, $"conversations/{Escape(conversationId)}/turns{Query(("after", Format(after)), ("limit", Format(limit)))}",
            null, null, ct);

    /// <summary>
    /// A context window within budget - reserve tokens: a GET, or a POST when <see cref="ContextRequest.Candidates"/>
    /// are given. Both only read, so both are retried.
    /// </summary>
    public Task<ContextWindow> GetContextAsync(string conversationId, ContextRequest request, CancellationToken ct = default)
    {
        var path = $"conversations/{Escape(conversationId)}/context";
        return request.Candidates is { Count: > 0 }
            ? SendAsync<ContextWindow>(HttpMethod.Post, path, request, null, ct, idempotent: true)
            : SendAsync<ContextWindow>(HttpMethod.Get, path + ContextQuery(request), null, null, ct);
    }

    /// <summary>Exact tokens of a text, or of chat messages with the chat format's overhead.</summary>
    public Task<TokenCount> TokenizeAsync(TokenizeRequest request, CancellationToken ct = default) =>
        SendAsync<TokenCount>(HttpMethod.Post, "tokenize", request, null, ct, idempotent: true);

    public Task<Document> PutDocumentAsync(
        string collection, string documentId, DocumentContent content, CancellationToken ct = default) =>
        SendAsync<Document>(HttpMethod.Put, DocumentPath(collection, documentId), content, null, ct);

    public Task<Document> GetDocumentAsync(string collection, string documentId, CancellationToken ct = default) =>
        SendAsync<Document>(HttpMethod.Get, DocumentPath(collection, documentId), null, null, ct);

    public Task DeleteDocumentAsync(string collection, string documentId, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, DocumentPath(collection, documentId), null, null, ct);

    /// <summary>Documents of a collection by id, after <paramref name="after"/> (ordinal).</summary>
    public Task<DocumentPage> ListDocumentsAsync(
        string collection, string? after = null, int? limit = null, CancellationToken ct = default) =>
        SendAsync<DocumentPage>(
            HttpMethod.Get, $"collections/{Escape(collection)}/documents{Query(("after", after), ("limit", Format(limit)))}",
            null, null, ct);

    public Task<Example> PutExampleAsync(string exampleId, ExampleContent content, CancellationToken ct = default) =>
        SendAsync<Example>(HttpMethod.Put, $"examples/{Escape(exampleId)}", content, null, ct);

    public Task<Example> GetExampleAsync(string exampleId, CancellationToken ct = default) =>
        SendAsync<Example>(HttpMethod.Get, $"examples/{Escape(exampleId)}", null, null, ct);

    public Task DeleteExampleAsync(string exampleId, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"examples/{Escape(exampleId)}", null, null, ct);

    /// <summary>Examples by id, only <paramref name="task"/>'s when given.</summary>
    public Task<ExamplePage> ListExamplesAsync(
        string? task = null, string? after = null, int? limit = null, CancellationToken ct = default) =>
        SendAsync<ExamplePage>(
            HttpMethod.Get, $"examples{Query(("task", task), ("after", after), ("limit", Format(limit)))}", null, null, ct);

    /// <summary>LLM usage and context savings; <paramref name="groupBy"/> is model, callType or conversation.</summary>
    public Task<UsageReport> GetUsageAsync(
        DateTimeOffset? from = null, DateTimeOffset? to = null, string? groupBy = null, CancellationToken ct = default) =>
        SendAsync<UsageReport>(
            HttpMethod.Get, $"usage{Query(("from", Format(from)), ("to", Format(to)), ("groupBy", groupBy))}", null, null, ct);

    /// <summary>What the dashboard shows, per UTC day in [<paramref name="from"/>, <paramref name="to"/>) (at most 92 days).</summary>
    public Task<DashboardData> GetDashboardDataAsync(
        DateTimeOffset? from = null, DateTimeOffset? to = null, CancellationToken ct = default) =>
        SendAsync<DashboardData>(HttpMethod.Get, $"dashboard/data{Query(("from", Format(from)), ("to", Format(to)))}", null, null, ct);

    /// <summary>A stored answer to the same question (by meaning, with the same specifics), or a miss.</summary>
    public Task<CacheLookupResult> LookupCacheAsync(CacheLookup lookup, CancellationToken ct = default) =>
        SendAsync<CacheLookupResult>(HttpMethod.Post, "cache/lookup", lookup, null, ct, idempotent: true);

    /// <summary>Stores an answer; the same question stores under the same key, so a repeat replaces it.</summary>
    public Task<StoredCacheEntry> PutCacheEntryAsync(CacheEntry entry, CancellationToken ct = default) =>
        SendAsync<StoredCacheEntry>(HttpMethod.Put, "cache/entries", entry, null, ct);

    public Task DeleteCacheEntryAsync(string key, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Delete, $"cache/entries/{Escape(key)}", null, null, ct);

    /// <summary>Deletes every cache entry of the caller's tenant; returns how many.</summary>
    public Task<DeletedCacheEntries> DeleteCacheEntriesAsync(CancellationToken ct = default) =>
        SendAsync<DeletedCacheEntries>(HttpMethod.Delete, "cache/entries", null, null, ct);

    private static NewTurn WithId(NewTurn turn) => turn.Id is null ? turn with { Id = $"t-{Guid.NewGuid():N}" } : turn;

    private static string DocumentPath(string collection, string documentId) =>
        $"collections/{Escape(collection)}/documents/{Escape(documentId)}";

    private static string ContextQuery(ContextRequest r) => Query(
        ("budget", Format(r.Budget)), ("model", r.Model), ("query", r.Query), ("reserve", Format(r.Reserve)),
        ("examples", Format(r.Examples)), ("task", r.Task), ("collections", r.Collections),
        ("recentShare", Format(r.RecentShare)), ("summaryShare", Format(r.SummaryShare)),
        ("knowledgeShare", Format(r.KnowledgeShare)), ("examplesShare", Format(r.ExamplesShare)));

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    private static string? Format(IFormattable? value) =>
        value switch
        {
            null => null,
            DateTimeOffset at => at.ToString("O", CultureInfo.InvariantCulture),
            _ => value.ToString(null, CultureInfo.InvariantCulture),
        };

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var query = new StringBuilder();
        foreach (var (name, value) in parameters.Where(p => p.Value is not null))
        {
            query.Append(query.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value!));
        }
        return query.ToString();
    }

    private async Task<T> SendAsync<T>(
        HttpMethod method, string path, object? body, long? expectedVersion, CancellationToken ct, bool idempotent = false)
    {
        using var response = await SendCoreAsync(method, path, body, expectedVersion, idempotent, ct);
        return await response.Content.ReadFromJsonAsync<T>(Json, ct)
            ?? throw new InvalidOperationException($"{method} /{path} answered {(int)response.StatusCode} without a body.");
    }

    private async Task SendAsync(HttpMethod method, string path, object? body, long? expectedVersion, CancellationToken ct)
    {
        using var response = await SendCoreAsync(method, path, body, expectedVersion, idempotent: false, ct);
    }

    private async Task<HttpResponseMessage> SendCoreAsync(
        HttpMethod method, string path, object? body, long? expectedVersion, bool idempotent, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }
        if (expectedVersion is { } version)
        {
            request.Headers.TryAddWithoutValidation("If-Match", $"\"{version.ToString(CultureInfo.InvariantCulture)}\"");
        }
        // A PUT with If-Match that succeeded but lost its answer would be refused when repeated (the version moved on);
        // turns are different: the service answers a repeat of stored ids with the original result before If-Match.
        request.Options.Set(Retryable, idempotent || (method != HttpMethod.Post && expectedVersion is null));
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            throw await ConversationServiceException.FromResponseAsync(response, ct);
        }
    }

    /// <summary>
    /// Whether a request may be sent again: GET and DELETE, PUT without If-Match, and the POSTs that cannot store
    /// anything twice (turns with ids, context, tokenize). Requests this client did not make are not.
    /// </summary>
    internal static bool IsSafeToRetry(HttpRequestMessage? request) =>
        request is not null && request.Options.TryGetValue(Retryable, out var retryable) && retryable;
}
