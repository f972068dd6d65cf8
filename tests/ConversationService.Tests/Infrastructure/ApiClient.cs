using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ConversationService.Tests.Infrastructure;

/// <summary>Thin helpers over HttpClient so tests read as Given/When/Then on the public API.</summary>
public sealed class ApiClient(HttpClient http) : IDisposable
{
    public HttpClient Http => http;

    public static string NewId(string prefix = "c") => $"{prefix}-{Guid.NewGuid():N}";

    public Task<Reply> PutConversationAsync(string id, object body) => SendAsync(HttpMethod.Put, $"/conversations/{id}", body);

    public Task<Reply> GetConversationAsync(string id) => SendAsync(HttpMethod.Get, $"/conversations/{id}");

    public Task<Reply> DeleteConversationAsync(string id) => SendAsync(HttpMethod.Delete, $"/conversations/{id}");

    public Task<Reply> AppendAsync(string id, object body, string? ifMatch = null) =>
        SendAsync(HttpMethod.Post, $"/conversations/{id}/turns", body, ifMatch);

    public Task<Reply> AppendTurnAsync(string id, string role, string content, string? turnId = null) =>
        AppendAsync(id, turnId is null ? new { role, content } : new { id = turnId, role, content });

    public Task<Reply> GetTurnsAsync(string id, string query = "") => SendAsync(HttpMethod.Get, $"/conversations/{id}/turns{query}");

    public Task<Reply> GetContextAsync(string id, string query) => SendAsync(HttpMethod.Get, $"/conversations/{id}/context?{query}");

    public Task<Reply> TokenizeAsync(object body) => SendAsync(HttpMethod.Post, "/tokenize", body);

    public Task<Reply> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public async Task<Reply> SendRawAsync(HttpMethod method, string path, string body, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        return await ReadAsync(await http.SendAsync(request));
    }

    /// <summary>Sends <paramref name="body"/> as it is: bytes that are not valid UTF-8 included.</summary>
    public async Task<Reply> SendBytesAsync(HttpMethod method, string path, byte[] body, string contentType = "application/json")
    {
        using var request = new HttpRequestMessage(method, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        return await ReadAsync(await http.SendAsync(request));
    }

    public async Task<Reply> SendAsync(HttpMethod method, string path, object? body = null, string? ifMatch = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType());
        }
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }
        return await ReadAsync(await http.SendAsync(request));
    }

    private static async Task<Reply> ReadAsync(HttpResponseMessage response)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            var json = text.Length > 0 && (response.Content.Headers.ContentType?.MediaType?.Contains("json") ?? false)
                ? JsonNode.Parse(text)
                : null;
            return new Reply(response.StatusCode, json, text, response.Content.Headers.ContentType?.MediaType,
                response.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase));
        }
    }

    public void Dispose() => http.Dispose();
}

public sealed record Reply(
    HttpStatusCode Status, JsonNode? Json, string Text, string? ContentType, IReadOnlyDictionary<string, string> Headers)
{
    public JsonNode Body => Json ?? throw new InvalidOperationException($"No JSON body ({Status}): {Text}");

    public Reply Expect(HttpStatusCode status)
    {
        Assert.True(Status == status, $"Expected {(int)status} but got {(int)Status}: {Text}");
        return this;
    }

    /// <summary>Asserts an RFC 9457 problem with the given status; returns its body.</summary>
    public JsonNode ExpectProblem(HttpStatusCode status)
    {
        Expect(status);
        Assert.Equal("application/problem+json", ContentType);
        Assert.Equal((int)status, Body["status"]!.GetValue<int>());
        return Body;
    }

    /// <summary>Asserts a validation problem naming <paramref name="field"/>.</summary>
    public JsonNode ExpectFieldError(string field, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        var problem = ExpectProblem(status);
        var errors = problem["errors"]?.AsObject();
        Assert.True(errors is not null && errors.ContainsKey(field), $"Expected an error for '{field}': {Text}");
        return problem;
    }

    public T Get<T>(string property) => Body[property]!.GetValue<T>();

    public static string Serialize(object value) => JsonSerializer.Serialize(value, JsonSerializerOptions.Web);
}
