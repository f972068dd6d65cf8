using System.Collections.Concurrent;
using ConversationService.Tokenizers;
using Microsoft.Extensions.Caching.Memory;

namespace ConversationService.Hosting;

/// <summary>Model name -> shared tokenizer, plus a bounded cache of turn counts in a foreign encoding.</summary>
public sealed class ModelTokenizers : IDisposable
{
    private readonly ConcurrentDictionary<string, TiktokenTokenizer> _byEncoding = new();

    // Counts of stored turns in an encoding other than the one they were counted in at append.
    // Bounded by entry count; a turn's content never changes, so entries never go stale.
    private readonly MemoryCache _foreignCounts = new(new MemoryCacheOptions { SizeLimit = 200_000 });

    public static string SupportedModels => TiktokenTokenizer.SupportedModelsDescription;

    /// <summary>
    /// For a model a client names: false also for a name that is not an identifier. The encoding lookup forgives
    /// whitespace and suffixes ("gpt-4o\n"), but a name the service stores and echoes must be exactly one.
    /// </summary>
    public bool TryResolveRequested(string model, out TiktokenTokenizer tokenizer)
    {
        tokenizer = null!;
        return Identifiers.IsValid(model) && TryResolve(model, out tokenizer);
    }

    public bool TryResolve(string model, out TiktokenTokenizer tokenizer)
    {
        if (!TiktokenTokenizer.TryGetEncodingForModel(model, out var encoding))
        {
            tokenizer = null!;
            return false;
        }
        tokenizer = ForEncoding(encoding);
        return true;
    }

    public TiktokenTokenizer ForEncoding(string encoding) =>
        _byEncoding.GetOrAdd(encoding, TiktokenTokenizer.CreateForEncoding);

    public bool TryGetCachedCount(object key, out int tokens) => _foreignCounts.TryGetValue(key, out tokens);

    public void CacheCount(object key, int tokens) =>
        _foreignCounts.Set(key, tokens, new MemoryCacheEntryOptions { Size = 1 });

    /// <summary>
    /// Drops the counts of these conversations' turns (they were deleted); keys are (encoding, tenant, conversation,
    /// index), see GetContext. One pass over the keys, for any number of conversations.
    /// </summary>
    public void ForgetCounts(IReadOnlySet<(string Tenant, string Id)> conversations)
    {
        foreach (var key in CountKeys().Where(k => conversations.Contains((k.Tenant, k.Id))).ToList())
        {
            _foreignCounts.Remove(key);
        }
    }

    /// <summary>How many counts are held for the conversation's turns, for tests.</summary>
    internal int CountsHeld(string tenant, string id) => CountKeys().Count(k => k.Tenant == tenant && k.Id == id);

    private IEnumerable<(string Encoding, string Tenant, string Id, int Index)> CountKeys() =>
        _foreignCounts.Keys.OfType<(string, string, string, int)>();

    public void Dispose() => _foreignCounts.Dispose();
}
