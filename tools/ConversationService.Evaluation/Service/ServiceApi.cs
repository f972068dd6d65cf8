using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using ConversationService.Evaluation.Locomo;

namespace ConversationService.Evaluation.Service;

public sealed record ContextMessage(string Role, string Content, string? Name = null);

public sealed record SectionItem(string Id, double? Score = null);

public sealed record ContextSection(string Kind, int Tokens, IReadOnlyList<SectionItem> Items);

public sealed record ContextResponse(
    string ConversationId, long Version, int Budget, int Tokens, long FullHistoryTokens,
    IReadOnlyList<ContextMessage> Messages, IReadOnlyList<ContextSection> Sections)
{
    /// <summary>The protocol's turn-bearing sections; the other kinds hold summaries, chunks or examples.</summary>
    public static readonly IReadOnlySet<string> TurnSections = new HashSet<string>(StringComparer.Ordinal) { "recent", "recalled" };

    public IReadOnlySet<string> TurnIds() =>
        Sections.Where(s => TurnSections.Contains(s.Kind)).SelectMany(s => s.Items).Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
}

public sealed record ConversationState(string Id, long Version, long IndexedVersion, int TurnCount, long TotalTokens);

/// <summary>The service answered something other than what the protocol needs; the message carries its reply.</summary>
public sealed class ServiceException(string message) : Exception(message);

/// <summary>The HTTP contract calls the protocol makes (paths and fields of DESIGN.md's contract).</summary>
public sealed class ServiceApi(HttpClient http)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public async Task PutConversationAsync(string id, string model, CancellationToken ct)
    {
        using var response = await http.PutAsJsonAsync(Path(id), new { model }, Json, ct);
        await EnsureAsync(response, $"PUT {Path(id)}", ct);
    }

    public async Task AppendAsync(string id, IEnumerable<LocomoTurn> turns, CancellationToken ct)
    {
        var body = new
        {
            turns = turns.Select(t => new { id = t.Id, role = t.Role, name = t.Name, content = t.Content, occurredAt = t.OccurredAt }),
        };
        using var response = await http.PostAsJsonAsync(Path(id) + "/turns", body, Json, ct);
        await EnsureAsync(response, $"POST {Path(id)}/turns", ct);
    }

    public async Task<ConversationState> GetConversationAsync(string id, CancellationToken ct)
    {
        using var response = await http.GetAsync(Path(id), ct);
        await EnsureAsync(response, $"GET {Path(id)}", ct);
        return await ReadAsync<ConversationState>(response, ct);
    }

    public async Task DeleteConversationAsync(string id, CancellationToken ct)
    {
        using var response = await http.DeleteAsync(Path(id), ct);
        await EnsureAsync(response, $"DELETE {Path(id)}", ct);
    }

    /// <summary>The context and the client-side latency of the request (sending through reading the body).</summary>
    public async Task<(ContextResponse Context, double LatencyMs)> GetContextAsync(
        string id, int budget, string model, string? query, CancellationToken ct)
    {
        var uri = $"{Path(id)}/context?budget={budget}&model={Uri.EscapeDataString(model)}"
            + (query is null ? "" : "&query=" + Uri.EscapeDataString(query));
        var started = Stopwatch.GetTimestamp();
        using var response = await http.GetAsync(uri, ct);
        await EnsureAsync(response, $"GET {Path(id)}/context?budget={budget}", ct);
        var context = await ReadAsync<ContextResponse>(response, ct);
        return (context, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private static string Path(string id) => "/conversations/" + Uri.EscapeDataString(id);

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken ct) =>
        await response.Content.ReadFromJsonAsync<T>(Json, ct)
        ?? throw new ServiceException($"{response.RequestMessage?.RequestUri}: empty JSON body.");

    private static async Task EnsureAsync(HttpResponseMessage response, string what, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(ct);
            throw new ServiceException($"{what} answered {(int)response.StatusCode} {response.ReasonPhrase}: {Truncate(body)}");
        }
    }

    private static string Truncate(string text) => text.Length <= 500 ? text : text[..500] + "…";
}
