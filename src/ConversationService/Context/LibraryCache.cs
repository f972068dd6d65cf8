using ConversationService.Hosting;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace ConversationService.Context;

/// <summary>
/// The per-replica memory that knowledge collections and few-shot examples share, within
/// <see cref="ContextOptions.LibraryCacheMegabytes"/> (sizes in approximate bytes, least recently used evicted first;
/// 0 turns it off). Each entry carries the version of the library it was read at and is served only while that
/// version is current. Callers read the version before the content: a change committed between the two reads is
/// then at worst kept under the older version, and read again by the next request.
/// </summary>
public sealed class LibraryCache(IOptions<ContextOptions> options) : IDisposable
{
    private readonly MemoryCache? _memory = options.Value.LibraryCacheMegabytes > 0
        ? new(new MemoryCacheOptions { SizeLimit = options.Value.LibraryCacheMegabytes * 1_048_576L })
        : null;

    private sealed record Entry(Guid Version, object Value);

    /// <summary>The value kept under <paramref name="key"/> at exactly <paramref name="version"/>.</summary>
    public bool TryGet<T>(object key, Guid version, out T value) where T : class
    {
        if (_memory is not null && _memory.TryGetValue(key, out Entry? entry) && entry!.Version == version)
        {
            value = (T)entry.Value;
            return true;
        }
        value = null!;
        return false;
    }

    /// <summary>
    /// Keeps <paramref name="value"/> for <paramref name="version"/>, unless it is <paramref name="complete"/> only
    /// later (vectors the embedding projection has not stored yet): then it is read again on the next request.
    /// </summary>
    public void Keep(object key, Guid version, object value, bool complete, long bytes)
    {
        if (_memory is not null && complete)
        {
            _memory.Set(key, new Entry(version, value), new MemoryCacheEntryOptions { Size = bytes });
        }
    }

    /// <summary>
    /// Drops every entry whose key matches (the content of something deleted). Entries are served only at their
    /// library's current version, so a deleted item is never served from here, but its text would stay in memory
    /// until evicted or until the next request for its library replaces the entry.
    /// </summary>
    public void Forget(Func<object, bool> matches)
    {
        foreach (var key in Keys().Where(matches).ToList())
        {
            _memory!.Remove(key);
        }
    }

    /// <summary>Whether any entry's key matches, for tests.</summary>
    internal bool Holds(Func<object, bool> matches) => Keys().Any(matches);

    private IEnumerable<object> Keys() => _memory?.Keys ?? [];

    /// <summary>A string's characters, as UTF-16 in memory.</summary>
    public static long Bytes(string text) => 2L * text.Length;

    /// <summary>A vector's floats.</summary>
    public static long Bytes(float[]? vector) => 4L * (vector?.Length ?? 0);

    public void Dispose() => _memory?.Dispose();
}
