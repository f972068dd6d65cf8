using ConversationService.Tokenizers;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Hosting;

/// <summary>A model's tokenizer and the name of its encoding, which stored token counts are tagged with.</summary>
public sealed record ModelTokenizer(string Encoding, Tokenizer Tokenizer);

/// <summary>
/// Model name -> shared tokenizer: a vocabulary file configured for the model (Tokenizers:Models), else the exact
/// o200k/cl100k BPE by model family; plus a bounded cache of turn counts in a foreign encoding.
/// </summary>
public sealed class ModelTokenizers(IOptions<TokenizersOptions> options) : IDisposable
{
    private static readonly Lazy<ModelTokenizer> O200k = new(() => new("o200k_base", ExactTiktokenTokenizer.CreateForEncoding("o200k_base")));
    private static readonly Lazy<ModelTokenizer> Cl100k = new(() => new("cl100k_base", ExactTiktokenTokenizer.CreateForEncoding("cl100k_base")));

    // Each loaded when its model is first used; start-up validation has already checked every file.
    private readonly Dictionary<string, Lazy<ModelTokenizer>> _configured = options.Value.Tokenizers();

    // Counts of stored turns in an encoding other than the one they were counted in at append.
    // Bounded by entry count; a turn's content never changes, so entries never go stale.
    private readonly MemoryCache _foreignCounts = new(new MemoryCacheOptions { SizeLimit = 200_000 });

    public static string SupportedModels => ExactTiktokenTokenizer.SupportedModelsDescription;

    /// <summary>
    /// For a model a client names: false also for a name that is not an identifier. The encoding lookup forgives
    /// whitespace and suffixes ("gpt-4o\n"), but a name the service stores and echoes must be exactly one.
    /// </summary>
    public bool TryResolveRequested(string model, out ModelTokenizer tokenizer)
    {
        tokenizer = null!;
        return Identifiers.IsValid(model) && TryResolve(model, out tokenizer);
    }

    public bool TryResolve(string model, out ModelTokenizer tokenizer)
    {
        if (_configured.TryGetValue(model, out var configured))
        {
            tokenizer = configured.Value;
            return true;
        }
        if (!ExactTiktokenTokenizer.TryGetEncodingForModel(model, out var encoding))
        {
            tokenizer = null!;
            return false;
        }
        tokenizer = Builtin(encoding);
        return true;
    }

    /// <summary>The built-in o200k_base or cl100k_base.</summary>
    public Tokenizer ForEncoding(string encoding) => Builtin(encoding).Tokenizer;

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

    private static ModelTokenizer Builtin(string encoding) => encoding switch
    {
        "o200k_base" => O200k.Value,
        "cl100k_base" => Cl100k.Value,
        _ => throw new NotSupportedException($"Unknown encoding '{encoding}'."),
    };
}
