using System.Text;
using System.Text.Json;
using ConversationService.Hosting;

namespace ConversationService.Conversations;

/// <summary>A turn of a batch as the client sent it.</summary>
public sealed record TurnInput(
    string? Id, string? Role, string? Content, string? Name, DateTimeOffset? OccurredAt, JsonElement? Metadata) : ITurn;

/// <summary>A validated turn with its id assigned (client's or generated).</summary>
public sealed record NewTurn(string Id, string Role, string Content, string? Name, DateTimeOffset? OccurredAt, JsonElement? Metadata);

/// <summary>What the write side knows about the conversation when it decides; <see cref="Archived"/>: deleted.</summary>
public sealed record ConversationState(bool Exists, bool Archived, long Version, string Model, string? SystemPrompt,
    JsonElement? Metadata, int TurnCount);

public sealed record AppendedTurn(string Id, int Index, int Tokens);

public abstract record AppendDecision
{
    public sealed record NotFound : AppendDecision;
    public sealed record VersionConflict(long Expected, long Actual) : AppendDecision;
    public sealed record TurnIdConflict(string Field, string TurnId) : AppendDecision;

    /// <summary><see cref="Events"/> empty means every turn was already stored: a replay, answered from the originals.</summary>
    public sealed record Accepted(IReadOnlyList<object> Events, IReadOnlyList<AppendedTurn> Turns, long ReplayVersion)
        : AppendDecision;
}

public abstract record SettingsDecision
{
    public sealed record NotFound : SettingsDecision;
    public sealed record VersionConflict(long Expected, long Actual) : SettingsDecision;
    public sealed record Started(ConversationStarted Event) : SettingsDecision;
    public sealed record Changed(ConversationSettingsChanged? Event) : SettingsDecision;
}

/// <summary>The write-side rules, free of I/O so they can be tested directly.</summary>
public static class ConversationDecisions
{
    public static readonly string[] Roles = ["system", "user", "assistant", "tool"];

    /// <summary>
    /// Decides what an append stores. Idempotency comes first: a request whose turns are all stored already gets
    /// the original result even when its If-Match is now stale, because it is a retry of a request that succeeded.
    /// </summary>
    public static AppendDecision DecideAppend(
        string tenant, string conversationId, ConversationState state, long? expectedVersion,
        IReadOnlyList<NewTurn> turns, IReadOnlyDictionary<string, TurnRow> stored, bool isBatch,
        string encoding, Func<NewTurn, int> countTokens, DateTimeOffset now)
    {
        if (state.Archived)
        {
            return new AppendDecision.NotFound();
        }
        var results = new AppendedTurn[turns.Count];
        var fresh = new List<(int Position, NewTurn Turn)>();
        long replayVersion = 0;
        for (var i = 0; i < turns.Count; i++)
        {
            var turn = turns[i];
            if (!stored.TryGetValue(turn.Id, out var original))
            {
                fresh.Add((i, turn));
                continue;
            }
            if (original.Role != turn.Role || original.Content != turn.Content || original.Name != turn.Name)
            {
                return new AppendDecision.TurnIdConflict(isBatch ? $"turns[{i}].id" : "id", turn.Id);
            }
            results[i] = new AppendedTurn(original.Id, original.Index, original.Tokens);
            replayVersion = Math.Max(replayVersion, original.Version);
        }
        if (fresh.Count == 0)
        {
            return new AppendDecision.Accepted([], results, replayVersion);
        }
        if (expectedVersion is { } expected && expected != state.Version)
        {
            return new AppendDecision.VersionConflict(expected, state.Version);
        }

        var events = new List<object>(fresh.Count + 1);
        if (!state.Exists)
        {
            events.Add(new ConversationStarted(tenant, conversationId, null, state.Model, null, now));
        }
        var index = state.TurnCount;
        foreach (var (position, turn) in fresh)
        {
            index++;
            var tokens = countTokens(turn);
            events.Add(new TurnAppended(
                turn.Id, index, turn.Role, turn.Content, turn.Name, turn.OccurredAt ?? now, tokens, encoding, turn.Metadata));
            results[position] = new AppendedTurn(turn.Id, index, tokens);
        }
        return new AppendDecision.Accepted(events, results, 0);
    }

    /// <summary>PUT semantics: absent fields keep their value; an unchanged PUT stores nothing.</summary>
    public static SettingsDecision DecideSettings(
        string tenant, string conversationId, ConversationState state, long? expectedVersion,
        string? systemPrompt, string? model, JsonElement? metadata, string defaultModel, DateTimeOffset now)
    {
        if (state.Archived)
        {
            return new SettingsDecision.NotFound();
        }
        if (expectedVersion is { } expected && expected != state.Version)
        {
            return new SettingsDecision.VersionConflict(expected, state.Version);
        }
        if (!state.Exists)
        {
            return new SettingsDecision.Started(
                new ConversationStarted(tenant, conversationId, systemPrompt, model ?? defaultModel, metadata, now));
        }
        var newPrompt = systemPrompt is not null && systemPrompt != state.SystemPrompt ? systemPrompt : null;
        var newModel = model is not null && model != state.Model ? model : null;
        var newMetadata = metadata is { } json && !JsonEquals(json, state.Metadata) ? metadata : null;
        return newPrompt is null && newModel is null && newMetadata is null
            ? new SettingsDecision.Changed(null)
            : new SettingsDecision.Changed(new ConversationSettingsChanged(newPrompt, newModel, newMetadata, now));
    }

    /// <summary>"5" or 5 (quotes optional; weak validators are not versions).</summary>
    public static bool TryParseIfMatch(string? header, out long? version)
    {
        version = null;
        if (string.IsNullOrWhiteSpace(header))
        {
            return true;
        }
        var value = header.Trim();
        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
        {
            value = value[1..^1];
        }
        if (long.TryParse(value, System.Globalization.NumberStyles.None, null, out var parsed))
        {
            version = parsed;
            return true;
        }
        return false;
    }

    // Stored metadata comes back with its keys reordered, so compare values rather than text.
    private static bool JsonEquals(JsonElement proposed, JsonElement? stored) =>
        stored is { } value && JsonElement.DeepEquals(proposed, value);
}
