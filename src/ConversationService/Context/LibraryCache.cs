using ConversationService.Hosting;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace ConversationService.Context;

/// <summary>
/// The per-replica memory that knowledge collections and few-shot examples share, within
/// <see cref="ContextOptions.LibraryCacheMegabytes"/> (sizes in approximate bytes, least recently used evicted first);
/// null when turned off. Each entry carries the version it was read at and is used only while that is current.
/// </summary>
public sealed class LibraryCache(IOptions<ContextOptions> options) : IDisposable
{
    public MemoryCache? Memory { get; } = options.Value.LibraryCacheMegabytes > 0
        ? new(new MemoryCacheOptions { SizeLimit = options.Value.LibraryCacheMegabytes * 1_048_576L })
        : null;

    /// <summary>A string's characters, as UTF-16 in memory.</summary>
    public static long Bytes(string text) => 2L * text.Length;

    /// <summary>A vector's floats.</summary>
    public static long Bytes(float[]? vector) => 4L * (vector?.Length ?? 0);

    public void Dispose() => Memory?.Dispose();
}
