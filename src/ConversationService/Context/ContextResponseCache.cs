using System.Security.Cryptography;
using System.Text.Json;
using ConversationService.Conversations;
using ConversationService.Hosting;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Npgsql;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace ConversationService.Context;

/// <summary>
/// What a context answer was built from, as the one round trip of every request reads it: the conversation's version
/// (turns and settings; a deleted id is never used again) and its summary, which lives in a stream of its own and is
/// only ever replaced by one that covers more turns, so its last index identifies it.
/// </summary>
public readonly record struct ContextStamp(long Version, int SummaryThroughIndex);

/// <summary>A serialized context answer and what a replay needs besides the bytes (the usage record, the ETag).</summary>
public sealed record ContextAnswer(byte[] Body, string ETag, string Model, int Tokens, long FullHistoryTokens)
{
    public static ContextAnswer Of(GetContext.Response response, long fullHistoryTokens, JsonSerializerOptions json)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(response, json);
        var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(body).AsSpan(0, 16)) + "\"";
        return new ContextAnswer(body, etag, response.Model, response.Tokens, fullHistoryTokens);
    }
}

/// <summary>
/// Context answers by tenant, conversation and every request parameter, replayed while the conversation's
/// <see cref="ContextStamp"/> is unchanged. Other replicas write too, so every replay first reads the stamp from
/// PostgreSQL: one statement of two primary-key lookups, and no ranking. Bounded by
/// <see cref="ContextOptions.ResponseCacheMegabytes"/>, least recently used evicted first. Only answers that depend on
/// nothing but the stamp and the parameters are kept (see <see cref="IsCacheable"/>).
/// </summary>
public sealed class ContextResponseCache : IDisposable
{
    private readonly MemoryCache? _cache;
    private readonly NpgsqlDataSource? _stamps;
    private readonly string _stampSql;
    // Conversations with a stamp read running, and the requests waiting for the read after it.
    private readonly Dictionary<(string Tenant, string Id), TaskCompletionSource<ContextStamp?>?> _reads = [];
    private long _hits;
    private long _misses;

    private readonly DeletedConversations _deleted;

    public ContextResponseCache(
        IOptions<ContextOptions> options, IOptions<HttpJsonOptions> json, NpgsqlDataSource dataSource,
        IOptions<ConnectionStringsOptions> connectionStrings, DatabaseSchema schema, DeletedConversations deleted)
    {
        _deleted = deleted;
        Json = json.Value.SerializerOptions;
        var megabytes = options.Value.ResponseCacheMegabytes;
        if (megabytes > 0)
        {
            _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = megabytes * 1_048_576L });
            _stamps = Multiplexed(dataSource, connectionStrings.Value.Postgres, options.Value.FreshnessPoolSize);
        }
        _stampSql = $"""
            SELECT c.version, coalesce(s.through_index, 0)
            FROM {schema.Name}.conversations c
            LEFT JOIN {schema.Name}.conversation_summaries s ON s.tenant_id = c.tenant_id AND s.conversation_id = c.id
            WHERE c.tenant_id = $1 AND c.id = $2
            """;
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
    public static bool IsCacheable(ContextParameters parameters, IReadOnlyList<KnowledgeItem> candidates) =>
        candidates.Count == 0 && parameters.Collections is null && parameters.Examples is not > 0;

    /// <summary>
    /// The kept answer when the conversation's stamp is still the one it was built at; otherwise null, and the caller
    /// builds the answer from a full read (which also answers 404 for a conversation deleted meanwhile). Only a key
    /// with an entry pays for the stamp read, so a stale entry costs its request one extra round trip.
    /// </summary>
    public async Task<ContextAnswer?> GetAsync(Key key, CancellationToken ct)
    {
        if (_cache is null || _stamps is null)
        {
            return null;
        }
        if (_cache.TryGetValue(key, out Entry? entry) && await SharedStampAsync(_stamps, (key.Tenant, key.ConversationId), ct) == entry!.Stamp)
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

    public void Dispose()
    {
        _cache?.Dispose();
        _stamps?.Dispose();
    }

    /// <summary>
    /// Stamp reads get a multiplexing data source of their own: concurrent one-row reads then share a few connections
    /// and their system calls, which halved PostgreSQL's CPU per replay in the load benchmark. It keeps the shared
    /// source's tuned settings but not its size: multiplexing pipelines commands on busy connections instead of waiting
    /// for a free one, so <paramref name="connections"/> (<see cref="ContextOptions.FreshnessPoolSize"/>) is all it
    /// ever opens, counted beside the shared pool against the server's max_connections. The password, which a data
    /// source does not hand back, comes from the configuration.
    /// </summary>
    private static NpgsqlDataSource Multiplexed(NpgsqlDataSource shared, string configured, int connections)
    {
        var settings = new NpgsqlConnectionStringBuilder(shared.ConnectionString) { Multiplexing = true, MaxPoolSize = connections };
        settings.Password ??= new NpgsqlConnectionStringBuilder(configured).Password;
        return NpgsqlDataSource.Create(settings);
    }

    /// <summary>
    /// The conversation's stamp, read after this call began. Concurrent requests for one conversation share reads
    /// (a hot conversation costs PostgreSQL one read per round trip, not one per request), but a request never takes
    /// the result of a read that may have been sent before it arrived: while one runs, newcomers wait for the next,
    /// which starts when it ends and serves them all.
    /// </summary>
    private async Task<ContextStamp?> SharedStampAsync(NpgsqlDataSource stamps, (string Tenant, string Id) conversation, CancellationToken ct)
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
            return await StampAsync(stamps, conversation, ct);
        }
        finally
        {
            _ = ServeWaitingAsync(stamps, conversation);
        }
    }

    /// <summary>One read after another while requests queued up behind the previous one; then the slot is freed.</summary>
    private async Task ServeWaitingAsync(NpgsqlDataSource stamps, (string Tenant, string Id) conversation)
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
                waiting.SetResult(await StampAsync(stamps, conversation, CancellationToken.None));
            }
            catch (Exception e)
            {
                waiting.SetException(e);
            }
        }
    }

    private async Task<ContextStamp?> StampAsync(NpgsqlDataSource stamps, (string Tenant, string Id) conversation, CancellationToken ct)
    {
        await using var command = stamps.CreateCommand(_stampSql);
        command.Parameters.Add(new() { Value = conversation.Tenant });
        command.Parameters.Add(new() { Value = conversation.Id });
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? new ContextStamp(reader.GetInt64(0), reader.GetInt32(1)) : null;
    }

    public sealed record Key(string Tenant, string ConversationId, ContextParameters Parameters)
    {
        /// <summary>Approximate heap size of the key: its strings as UTF-16 plus object overhead.</summary>
        public long Bytes => 256 + 2L * (Tenant.Length + ConversationId.Length + (Parameters.Query?.Length ?? 0)
            + (Parameters.Model?.Length ?? 0) + (Parameters.Task?.Length ?? 0));
    }

    private sealed record Entry(ContextStamp Stamp, ContextAnswer Answer);
}
