using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;

namespace ConversationService.Hosting;

/// <summary>
/// Identifiers: conversation, turn, collection, document and example ids, tasks, collection names and model names.
/// Checked character by character rather than with a regular expression, whose <c>$</c> also matches before a final
/// newline ("abc\n" would pass <c>^[a-z]+$</c>).
/// </summary>
public static class Identifiers
{
    public const int MaxLength = 128;
    public const string Rule = "1-128 characters of A-Z a-z 0-9 . _ : -";
    public const int MaxNameLength = 64;
    public const string NameRule = "1-64 characters of A-Z a-z 0-9 _ -";

    private static readonly SearchValues<char> IdCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-");

    // OpenAI's rule for the optional participant name of a message.
    private static readonly SearchValues<char> NameCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

    public static bool IsValid(string? id) =>
        id is { Length: >= 1 and <= MaxLength } && !id.AsSpan().ContainsAnyExcept(IdCharacters);

    public static bool IsValidName(string? name) =>
        name is { Length: >= 1 and <= MaxNameLength } && !name.AsSpan().ContainsAnyExcept(NameCharacters);
}

/// <summary>
/// Ids in hexadecimal UTF-8: strings that sort ordinally in any database collation (a collation may ignore '.', ':'
/// and '-' or fold case), for lists paged by id.
/// </summary>
public static class SortKeys
{
    public static string Of(string id) => Convert.ToHexStringLower(System.Text.Encoding.UTF8.GetBytes(id));
}

/// <summary>A field's error; <see cref="TooLarge"/> makes the answer a 413.</summary>
public sealed record FieldError(string Field, string Message, bool TooLarge = false);

/// <summary>
/// Client metadata (turns, conversations, documents): a JSON object of bounded size and depth whose keys and strings
/// are valid Unicode without NUL and whose objects repeat no key. Whatever passes can be stored as jsonb, read back,
/// and serialized into every response and integration event.
/// </summary>
public static class MetadataRules
{
    /// <summary>Null when <paramref name="metadata"/> is absent, JSON null or acceptable; otherwise the error for <paramref name="field"/>.</summary>
    public static FieldError? Check(string field, JsonElement? metadata, LimitsOptions limits)
    {
        if (metadata is not { ValueKind: not JsonValueKind.Null } json)
        {
            return null;
        }
        if (json.ValueKind != JsonValueKind.Object)
        {
            return new(field, "Metadata must be a JSON object.");
        }
        var raw = JsonMarshal.GetRawUtf8Value(json);
        if (raw.Length > limits.MaxMetadataBytes)
        {
            return new(field, $"Metadata exceeds {limits.MaxMetadataBytes} bytes of JSON (Limits:MaxMetadataBytes).", TooLarge: true);
        }
        if (!Utf8.IsValid(raw))
        {
            return new(field, "Metadata must be valid UTF-8.");
        }
        return Walk(field, json, 1, limits.MaxMetadataDepth);
    }

    private static FieldError? Walk(string field, JsonElement element, int depth, int maxDepth)
    {
        if (element.ValueKind is JsonValueKind.Object or JsonValueKind.Array && depth > maxDepth)
        {
            return new(field, $"Metadata nests deeper than {maxDepth} levels (Limits:MaxMetadataDepth).");
        }
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var keys = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    var name = ReadString(property, static p => p.Name);
                    if (name is null || name.Contains('\0', StringComparison.Ordinal))
                    {
                        return new(field, InvalidText);
                    }
                    if (!keys.Add(name))
                    {
                        return new(field, "A key appears more than once in one object of the metadata.");
                    }
                    if (Walk(field, property.Value, depth + 1, maxDepth) is { } error)
                    {
                        return error;
                    }
                }
                return null;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (Walk(field, item, depth + 1, maxDepth) is { } error)
                    {
                        return error;
                    }
                }
                return null;
            case JsonValueKind.String:
                var text = ReadString(element, static e => e.GetString());
                return text is null || text.Contains('\0', StringComparison.Ordinal) ? new(field, InvalidText) : null;
            default:
                return null;
        }
    }

    private const string InvalidText =
        "Metadata keys and strings must be valid Unicode (no lone surrogate such as \\ud800) without NUL (\\u0000).";

    // JSON escapes are unescaped only here; a lone surrogate escape makes System.Text.Json throw instead.
    private static string? ReadString<T>(T source, Func<T, string?> read)
    {
        try
        {
            return read(source);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
