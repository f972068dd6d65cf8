using System.Security.Cryptography;
using System.Text.Json;
using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Usage;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Marten;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace ConversationService.Context;

/// <summary>
/// What a context answer was built from, as the one round trip of every request reads it: the conversation's version
/// (turns and settings; a deleted id is never used again) and its summary, which lives in a stream of its own and is
/// only ever replaced by one that covers more turns, so its last index identifies it.
/// </summary>
public readonly record struct ContextStamp(long Version, int SummaryThroughIndex);

/// <summary>A serialized context answer and what a replay needs besides the bytes (the usage record, the ETag).</summary>
public sealed record ContextAnswer(byte[] Body, string ETag, string Model, int Tokens, long FullHistoryTokens, SectionTokens Sections)
{
    public static ContextAnswer Of(GetContext.Response response, long fullHistoryTokens, JsonSerializerOptions json)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(response, json);
        var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(body).AsSpan(0, 16)) + "\"";
        return new ContextAnswer(
            body, etag, response.Model, response.Tokens, fullHistoryTokens,
            SectionTokens.Of(response.Sections.Select(s => (s.Kind, s.Tokens))));
    }
}

/// <summary>
/// Context answers by tenant, conversation and every request parameter, replayed while the conversation's
/// <see cref="ContextStamp"/> is unchanged. Other replicas write too, so every replay first reads the stamp from
/// PostgreSQL: one primary-key lookup of the conversation's document, and no ranking. Bounded by
/// <see cref="ContextOptions.ResponseCacheMegabytes"/>, least recently used evicted first. Only answers that depend on
/// nothing but the stamp and the parameters are kept (see <see cref="IsCacheable"/>).
/// </summary>
public sealed class ContextResponseCache : IDisposable
{
    private readonly MemoryCache? _cache;
    private readonly IDocumentStore _store;
    // Conversations with a stamp read running, and the requests waiting for the read after it.
    private readonly Dictionary<(string Tenant, string Id), TaskCompletionSource<ContextStamp?>?> _reads = [];
    private long _hits;
    private long _misses;

    private readonly DeletedConversations _deleted;

    public ContextResponseCache(
        IOptions<ContextOptions> options, IOptions<HttpJsonOptions> json, IDocumentStore store, DeletedConversations deleted)
    {
        _deleted = deleted;
        _store = store;
        Json = json.Value.SerializerOptions;
        var megabytes = options.Value.ResponseCacheMegabytes;
        if (megabytes > 0)
        {
            _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = megabytes * 1_048_576L });
        }
    }

    /// <summary>The options minimal APIs serialize with, so a replayed answer has the bytes a fresh one would.</summary>
    public JsonSerializerOptions Json { get; }

    /// <summary>Answers replayed since start.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Cacheable requests that had to be answered afresh since start.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>
    /// Knowledge chunks, examples and the caller's candidates change without the conversation's stamp moving, so
    /// requests that use them are always answered afresh.
    /// </summary>
    public static bool IsCacheable(GetContext.Request request, IReadOnlyList<KnowledgeItem> candidates) =>
        candidates.Count == 0 && request.Collections is null && request.Examples is not > 0;

    /// <summary>
    /// The kept answer when the conversation's stamp is still the one it was built at; otherwise null, and the caller
    /// builds the answer from a full read (which also answers 404 for a conversation deleted meanwhile). Only a key
    /// with an entry pays for the stamp read, so a stale entry costs its request one extra round trip.
    /// </summary>
    public async Task<ContextAnswer?> GetAsync(Key key, CancellationToken ct)
    {
        if (_cache is null)
        {
            return null;
        }
        if (_cache.TryGetValue(key, out Entry? entry) && await SharedStampAsync((key.Tenant, key.ConversationId), ct) == entry!.Stamp)
        {
            Interlocked.Increment(ref _hits);
            return entry.Answer;
        }
        Interlocked.Increment(ref _misses);
        return null;
    }

    /// <summary>Replaces the key's answer for an older stamp, so a growing conversation holds one entry per request shape.</summary>
    public void Put(Key key, ContextStamp stamp, ContextAnswer answer)
    {
        if (!_deleted.Contains(key.Tenant, key.ConversationId))
        {
            _cache?.Set(key, new Entry(stamp, answer), new MemoryCacheEntryOptions { Size = key.Bytes + answer.Body.Length });
        }
    }

    /// <summary>
    /// Drops every answer for these conversations (they were deleted): one pass over the keys, as a conversation has an
    /// entry per request shape.
    /// </summary>
    public void Forget(IReadOnlySet<(string Tenant, string Id)> conversations)
    {
        foreach (var key in Keys().Where(k => conversations.Contains((k.Tenant, k.ConversationId))).ToList())
        {
            _cache!.Remove(key);
        }
    }

    /// <summary>How many answers are held for the conversation, for tests.</summary>
    internal int Count(string tenant, string id) => Keys().Count(k => k.Tenant == tenant && k.ConversationId == id);

    private IEnumerable<Key> Keys() => _cache?.Keys.OfType<Key>() ?? [];

    public void Dispose() => _cache?.Dispose();

    /// <summary>
    /// The conversation's stamp, read after this call began. Concurrent requests for one conversation share reads
    /// (a hot conversation costs PostgreSQL one read per round trip, not one per request), but a request never takes
    /// the result of a read that may have been sent before it arrived: while one runs, newcomers wait for the next,
    /// which starts when it ends and serves them all.
    /// </summary>
    private async Task<ContextStamp?> SharedStampAsync((string Tenant, string Id) conversation, CancellationToken ct)
    {
        TaskCompletionSource<ContextStamp?>? next = null;
        lock (_reads)
        {
            if (_reads.TryGetValue(conversation, out next))
            {
                next ??= _reads[conversation] = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            else
            {
                _reads[conversation] = null;
            }
        }
        if (next is not null)
        {
            return await next.Task.WaitAsync(ct);
        }
        try
        {
            return await StampAsync(conversation, ct);
        }
        finally
        {
            _ = ServeWaitingAsync(conversation);
        }
    }

    /// <summary>One read after another while requests queued up behind the previous one; then the slot is freed.</summary>
    private async Task ServeWaitingAsync((string Tenant, string Id) conversation)
    {
        while (true)
        {
            TaskCompletionSource<ContextStamp?>? waiting;
            lock (_reads)
            {
                if ((waiting = _reads[conversation]) is null)
                {
                    _reads.Remove(conversation);
                    return;
                }
                _reads[conversation] = null;
            }
            try
            {
                waiting.SetResult(await StampAsync(conversation, CancellationToken.None));
            }
            catch (Exception e)
            {
                waiting.SetException(e);
            }
        }
    }

    private async Task<ContextStamp?> StampAsync((string Tenant, string Id) conversation, CancellationToken ct)
    {
        await using var session = _store.QuerySession(conversation.Tenant);
        var stamp = await session.Query<ConversationView>()
            .Where(c => c.Id == conversation.Id)
            .Select(c => new StampRow(c.Version, c.Summary!.ThroughIndex))
            .FirstOrDefaultAsync(ct);
        return stamp is null ? null : new ContextStamp(stamp.Version, stamp.ThroughIndex ?? 0);
    }

    private sealed record StampRow(long Version, int? ThroughIndex);

    /// <summary>A tenant's request: <paramref name="Parameters"/> names the conversation and every parameter.</summary>
    public sealed record Key(string Tenant, GetContext.Request Parameters)
    {
        public string ConversationId => Parameters.ConversationId;

        /// <summary>Approximate heap size of the key: its strings as UTF-16 plus object overhead.</summary>
        public long Bytes => 256 + 2L * (Tenant.Length + ConversationId.Length + (Parameters.Query?.Length ?? 0)
            + (Parameters.Model?.Length ?? 0) + (Parameters.Task?.Length ?? 0));
    }

    private sealed record Entry(ContextStamp Stamp, ContextAnswer Answer);
}
