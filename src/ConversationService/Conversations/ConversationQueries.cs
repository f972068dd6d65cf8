using System.Text.Json;
using ConversationService.Summaries;
using Marten;

namespace ConversationService.Conversations;

public sealed record ConversationRow(
    string Id, long Version, string Model, string? SystemPrompt, JsonElement? Metadata, int TurnCount, long TotalTokens,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, CurrentSummary? Summary = null)
{
    public static ConversationRow From(ConversationView view) => new(
        view.Id, view.Version, view.Model, view.SystemPrompt, view.Metadata, view.TurnCount, view.TotalTokens,
        view.CreatedAt, view.UpdatedAt, view.Summary);
}

public sealed record TurnRow(
    string Id, int Index, string Role, string Content, string? Name, DateTimeOffset OccurredAt, int Tokens,
    string Encoding, long Version, JsonElement? Metadata)
{
    public static TurnRow From(TurnView view) => new(
        view.TurnId, view.Index, view.Role, view.Content, view.Name, view.OccurredAt, view.Tokens, view.Encoding,
        view.Version, view.Metadata);
}

/// <summary>A turn without its content: what context assembly needs to plan a window cheaply.</summary>
public sealed record TurnHeader(string Id, int Index, string Role, string? Name, int Tokens, string Encoding)
{
    public static TurnHeader From(TurnView view) => new(view.TurnId, view.Index, view.Role, view.Name, view.Tokens, view.Encoding);
}

/// <summary>Tenant-scoped reads of the conversation read model: every session is opened for the caller's tenant.</summary>
public sealed class ConversationQueries(IDocumentStore store, ConversationSnapshots snapshots)
{
    public async Task<ConversationRow?> GetConversationAsync(string tenant, string id, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        return await session.LoadAsync<ConversationView>(id, ct) is { } view ? ConversationRow.From(view) : null;
    }

    public async Task<IReadOnlyList<TurnRow>> GetTurnsByIdsAsync(
        string tenant, string conversationId, string[] turnIds, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var views = await session.Query<TurnView>()
            .Where(t => t.ConversationId == conversationId && turnIds.Contains(t.TurnId))
            .ToListAsync(ct);
        return [.. views.Select(TurnRow.From)];
    }

    /// <summary>Turns with index in (after, throughIndex], oldest first, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<TurnRow>> GetTurnsAsync(
        string tenant, string conversationId, int after, int throughIndex, int limit, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        var views = await session.Query<TurnView>()
            .Where(t => t.ConversationId == conversationId && t.Index > after && t.Index <= throughIndex)
            .OrderBy(t => t.Index)
            .Take(limit)
            .ToListAsync(ct);
        return [.. views.Select(TurnRow.From)];
    }

    /// <summary>
    /// The conversation and its turns without content, oldest first, in one round trip. The turns are read after
    /// the document and are append-only, so cutting them at its turn count gives the state it describes.
    /// A snapshot of this replica's last read makes that round trip a probe: the document, the stored turn at the
    /// snapshot's last index (the same version means the same turn, so the snapshot is still a prefix: versions are
    /// never reused in a stream) and only the turns after it, which extend the snapshot. The current summary is part
    /// of the document.
    /// </summary>
    public async Task<(ConversationRow Conversation, IReadOnlyList<TurnHeader> Turns, CurrentSummary? Summary)?> GetContextSourcesAsync(
        string tenant, string conversationId, CancellationToken ct)
    {
        var cached = snapshots.Get(tenant, conversationId);
        var read = await ReadFromAsync(tenant, conversationId, cached, ct);
        if (read is null && cached is not null)
        {
            read = await ReadFromAsync(tenant, conversationId, null, ct); // the snapshot no longer matched
        }
        if (read is not var (conversation, snapshot))
        {
            snapshots.Remove(tenant, conversationId);
            return null;
        }
        if (snapshot.Count == conversation.TurnCount)
        {
            snapshots.Put(tenant, conversationId, snapshot);
        }
        return (conversation, Array.AsReadOnly(snapshot.Headers), conversation.Summary);
    }

    /// <summary>
    /// Null when the conversation is gone (or, with <paramref name="cached"/>, when the snapshot no longer matches);
    /// otherwise the document and a snapshot of at most its turn count turns, validated now.
    /// </summary>
    private async Task<(ConversationRow Conversation, ConversationSnapshot Snapshot)?> ReadFromAsync(
        string tenant, string conversationId, ConversationSnapshot? cached, CancellationToken ct)
    {
        var known = cached?.Count ?? 0;
        await using var session = store.QuerySession(tenant);
        var batch = session.CreateBatchQuery();
        var conversationRead = batch.Load<ConversationView>(conversationId);
        var turnsRead = batch.Query<TurnView>()
            .Where(t => t.ConversationId == conversationId && t.Index >= known)
            .OrderBy(t => t.Index)
            .ToList();
        var validatedAt = snapshots.Now();
        await batch.Execute(ct);
        if (await conversationRead is not { } view)
        {
            return null;
        }
        var conversation = ConversationRow.From(view);
        var turns = await turnsRead;
        var next = 0;
        if (cached is not null)
        {
            if (conversation.TurnCount < known || turns.Count == 0 || turns[0].Index != known
                || turns[0].Version != cached.LastTurnVersion)
            {
                return null;
            }
            if (known == conversation.TurnCount)
            {
                return (conversation, cached with { ValidatedAt = validatedAt });
            }
            next = 1;
        }
        var headers = new List<TurnHeader>(conversation.TurnCount);
        var contents = new List<string>(conversation.TurnCount);
        if (cached is not null)
        {
            headers.AddRange(cached.Headers);
            contents.AddRange(cached.Contents);
        }
        var lastVersion = cached?.LastTurnVersion ?? 0;
        for (; next < turns.Count && headers.Count < conversation.TurnCount && turns[next].Index == headers.Count + 1; next++)
        {
            headers.Add(TurnHeader.From(turns[next]));
            contents.Add(turns[next].Content);
            lastVersion = turns[next].Version;
        }
        return (conversation, new ConversationSnapshot([.. headers], [.. contents], lastVersion, validatedAt));
    }

    /// <summary>
    /// Content of the given turns, keyed by index; missing indexes are left out. Right after
    /// <see cref="GetContextSourcesAsync"/> it comes from the snapshot that call validated.
    /// </summary>
    public async Task<Dictionary<int, string>> GetContentsAsync(
        string tenant, string conversationId, int[] indexes, CancellationToken ct)
    {
        var contents = new Dictionary<int, string>(indexes.Length);
        if (indexes.Length == 0)
        {
            return contents;
        }
        if (snapshots.GetFresh(tenant, conversationId) is { } snapshot && indexes.All(i => i >= 1 && i <= snapshot.Count))
        {
            foreach (var index in indexes)
            {
                contents[index] = snapshot.Contents[index - 1];
            }
            return contents;
        }
        await using var session = store.QuerySession(tenant);
        var views = await session.Query<TurnView>()
            .Where(t => t.ConversationId == conversationId && indexes.Contains(t.Index))
            .ToListAsync(ct);
        foreach (var view in views)
        {
            contents[view.Index] = view.Content;
        }
        return contents;
    }
}
