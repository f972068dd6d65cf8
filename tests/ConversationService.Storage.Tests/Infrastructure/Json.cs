using System.Globalization;
using System.Text.Json.Nodes;

namespace ConversationService.Storage.Tests.Infrastructure;

public static class Json
{
    /// <summary>
    /// Equal JSON, except that times may differ by up to a microsecond: PostgreSQL keeps microseconds, and a time that
    /// passed through it was truncated (Npgsql parameters, the own store's read-model tables) or rounded (a timestamp
    /// cast from JSON text in a query), while a time from a document or an event is exact to the tick. With
    /// <paramref name="allowAddedFields"/>, objects may hold fields that <paramref name="expected"/> lacks: answers
    /// recorded before the contract was extended (it is extended, never renamed).
    /// </summary>
    public static void AssertEquivalent(JsonNode? expected, JsonNode? actual, string what, bool allowAddedFields = false)
    {
        if (Difference(expected, actual, "$", allowAddedFields) is { } path)
        {
            Assert.Fail($"{what}: differs at {path}{Environment.NewLine}expected {expected?.ToJsonString()}{Environment.NewLine}"
                + $"actual   {actual?.ToJsonString()}");
        }
    }

    private static string? Difference(JsonNode? expected, JsonNode? actual, string path, bool allowAdded)
    {
        switch (expected, actual)
        {
            case (null, null):
                return null;
            case (JsonObject e, JsonObject a):
                foreach (var key in allowAdded ? e.Select(p => p.Key) : e.Select(p => p.Key).Union(a.Select(p => p.Key)))
                {
                    if (Difference(e[key], a[key], $"{path}.{key}", allowAdded) is { } inner)
                    {
                        return inner;
                    }
                }
                return null;
            case (JsonArray e, JsonArray a):
                if (e.Count != a.Count)
                {
                    return $"{path} (length {e.Count} vs {a.Count})";
                }
                for (var i = 0; i < e.Count; i++)
                {
                    if (Difference(e[i], a[i], $"{path}[{i}]", allowAdded) is { } inner)
                    {
                        return inner;
                    }
                }
                return null;
            case (JsonValue e, JsonValue a) when Time(e) is { } te && Time(a) is { } ta:
                return Math.Abs((te - ta).Ticks) <= 10 ? null : path;
            default:
                return JsonNode.DeepEquals(expected, actual) ? null : path;
        }
    }

    private static DateTimeOffset? Time(JsonValue value) =>
        value.TryGetValue<string>(out var text) && text.Length > 19 && text[4] == '-' && text[10] == 'T'
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
            ? time
            : null;
}
