using System.Text.Json;

namespace ConversationService.EventStore;

/// <summary>
/// An event as stored: <see cref="Data"/> is the deserialized CLR record. The daemon hands over a
/// <see cref="JsonElement"/> for a type name that this process has not registered.
/// </summary>
public sealed record StoredEvent(
    long Sequence, Guid Id, string TenantId, string StreamId, long Version, string Type, object Data, DateTimeOffset Timestamp);

/// <summary>
/// An event that carries personal content (texts, names, metadata): <see cref="Erased"/> is the same fact without it.
/// <see cref="StreamWriteSession.EraseContentAsync"/> rewrites stored events to that form when their subject is deleted.
/// </summary>
public interface IErasable
{
    object Erased();
}

/// <summary>Thrown when the stream's version is not the expected one.</summary>
public sealed class ConcurrencyException(string streamId, long expected, long actual)
    : Exception($"Stream '{streamId}' is at version {actual}, expected {expected}.")
{
    public long Expected { get; } = expected;
    public long Actual { get; } = actual;
}

/// <summary>
/// Maps event CLR types to stored type names (snake_case of the type name, Marten style).
/// Register everything at start-up; lookups are then safe from any thread.
/// </summary>
public sealed class EventTypeRegistry
{
    private readonly Dictionary<Type, string> _names = [];
    private readonly Dictionary<string, Type> _types = new(StringComparer.Ordinal);

    public EventTypeRegistry Register<T>() => Register(typeof(T));

    public EventTypeRegistry Register(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var name = JsonNamingPolicy.SnakeCaseLower.ConvertName(type.Name);
        if (_types.TryGetValue(name, out var existing) && existing != type)
        {
            throw new InvalidOperationException($"Event types {existing.FullName} and {type.FullName} both map to '{name}'.");
        }

        _names[type] = name;
        _types[name] = type;
        return this;
    }

    public string NameOf(Type type) =>
        _names.TryGetValue(type, out var name)
            ? name
            : throw new InvalidOperationException($"Event type {type.FullName} is not registered with the event store.");

    public Type TypeOf(string name) =>
        TryGetType(name, out var type)
            ? type
            : throw new InvalidOperationException($"Event type name '{name}' is not registered with the event store.");

    public bool TryGetType(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Type? type) =>
        _types.TryGetValue(name, out type);

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    internal string Serialize(object data, out string name)
    {
        var type = data.GetType();
        name = NameOf(type);
        return JsonSerializer.Serialize(data, type, Json);
    }

    internal object Deserialize(string name, string json) =>
        TryGetType(name, out var type)
            ? JsonSerializer.Deserialize(json, type, Json)
              ?? throw new InvalidOperationException($"Stored event '{name}' has null data.")
            : JsonSerializer.Deserialize<JsonElement>(json, Json);
}
