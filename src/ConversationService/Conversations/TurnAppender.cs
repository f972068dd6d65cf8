using System.Collections.ObjectModel;
using ConversationService.Hosting;
using ConversationService.Tokenizers;

namespace ConversationService.Conversations;

/// <summary>What an append of turns came to; the HTTP endpoint and the bus consumer each turn it into their answer.</summary>
public abstract record AppendResult
{
    public sealed record Appended(long Version, IReadOnlyList<AppendedTurn> Turns) : AppendResult;
    public sealed record NotFound : AppendResult;
    public sealed record VersionConflict(long Expected, long Actual) : AppendResult;
    public sealed record TurnIdConflict(string Field, string TurnId) : AppendResult;

    /// <summary>The conversation kept moving under this append (other replicas writing it): try again later.</summary>
    public sealed record Busy : AppendResult;
}

/// <summary>Told of every append that stored or replayed turns, on the replica that took it, once it is stored.</summary>
public interface IAppendListener
{
    /// <summary>Must not block: the append's answer waits for it.</summary>
    void Appended(string tenant, string conversationId, IReadOnlyList<NewTurn> turns);
}

/// <summary>
/// Appends validated turns to a conversation: the one write path of POST .../turns and of AppendTurn over RabbitMQ.
/// The decision is <see cref="ConversationDecisions.DecideAppend"/>; this class reads what it needs and stores what it
/// decided, optimistically (see <see cref="ConversationWriter"/>).
/// </summary>
public sealed class TurnAppender(
    ConversationWriter writer, ModelTokenizers tokenizers, TimeProvider time, IEnumerable<IAppendListener> listeners)
{
    private readonly IAppendListener[] _listeners = [.. listeners];

    private ConversationWriter Writer => writer;
    private DateTimeOffset Now => time.GetUtcNow();

    public async Task<AppendResult> AppendAsync(
        string tenant, string conversationId, IReadOnlyList<NewTurn> turns, IReadOnlyList<string> clientIds,
        long? expectedVersion, bool isBatch, CancellationToken ct)
    {
        var result = await StoreAsync(tenant, conversationId, turns, clientIds, expectedVersion, isBatch, ct);
        if (result is AppendResult.Appended)
        {
            foreach (var listener in _listeners)
            {
                listener.Appended(tenant, conversationId, turns);
            }
        }
        return result;
    }

    private async Task<AppendResult> StoreAsync(
        string tenant, string conversationId, IReadOnlyList<NewTurn> turns, IReadOnlyList<string> clientIds,
        long? expectedVersion, bool isBatch, CancellationToken ct)
    {
        var append = new Attempt(this, tenant, conversationId, turns, clientIds, expectedVersion, isBatch);
        using (await writer.LockAsync(tenant, conversationId, ct))
        {
            // Almost every append carries ids that are new, and the unique index on turn ids refuses a repeated one
            // anyway, so the first attempt does not look the ids up. A retry shows up as that violation, or as an
            // If-Match conflict; only then is the append decided again knowing the stored turns.
            try
            {
                if (await append.RunAsync(lookup: false, ct) is { } done)
                {
                    return done;
                }
            }
            catch (Exception e) when (ConversationProjection.IsTurnIdViolation(e))
            {
            }
            return await append.RunAsync(lookup: true, ct)
                ?? throw new InvalidOperationException("An append that looked up its turn ids asked to look them up again.");
        }
    }

    private sealed class Attempt(
        TurnAppender owner, string tenant, string conversationId, IReadOnlyList<NewTurn> turns,
        IReadOnlyList<string> clientIds, long? expectedVersion, bool isBatch)
    {
        // Counting is the costly part of an append, so it is done once, in the default model's encoding (the one
        // almost every conversation uses); a conversation with another encoding recounts.
        private readonly Dictionary<string, int> _likely = owner.CountInDefaultEncoding(turns);

        /// <summary>Null when the answer depends on stored turns this attempt did not look up.</summary>
        public async Task<AppendResult?> RunAsync(bool lookup, CancellationToken ct)
        {
            if (!lookup && owner.Writer.KnownState(tenant, conversationId) is { } known
                && (expectedVersion is null || expectedVersion == known.Version)
                && Decide(known, ReadOnlyDictionary<string, TurnRow>.Empty) is AppendDecision.Accepted { Events.Count: > 0 } fast
                && await owner.Writer.TryAppendAsync(tenant, conversationId, known.Version, fast.Events, Next(known, fast), ct))
            {
                return new AppendResult.Appended(known.Version + fast.Events.Count, fast.Turns);
            }
            for (var attempt = 0; attempt < ConversationWriter.MaxAttempts; attempt++)
            {
                await ConversationWriter.BackOffAsync(attempt, ct);
                var (state, stored) = await owner.Writer.ReadAsync(tenant, conversationId, lookup ? [.. clientIds] : [], ct);
                switch (Decide(state, stored))
                {
                    case AppendDecision.NotFound:
                        return new AppendResult.NotFound();
                    case AppendDecision.VersionConflict when !lookup && clientIds.Count > 0:
                        return null; // maybe a retry of an append that succeeded: the stored turns decide
                    case AppendDecision.VersionConflict conflict:
                        return new AppendResult.VersionConflict(conflict.Expected, conflict.Actual);
                    case AppendDecision.TurnIdConflict conflict:
                        return new AppendResult.TurnIdConflict(conflict.Field, conflict.TurnId);
                    case AppendDecision.Accepted { Events.Count: 0 } replay:
                        return new AppendResult.Appended(replay.ReplayVersion, replay.Turns);
                    case AppendDecision.Accepted accepted:
                        if (await owner.Writer.TryAppendAsync(
                                tenant, conversationId, state.Version, accepted.Events, Next(state, accepted), ct))
                        {
                            return new AppendResult.Appended(state.Version + accepted.Events.Count, accepted.Turns);
                        }
                        break; // another replica wrote meanwhile: read and decide again
                }
            }
            return new AppendResult.Busy();
        }

        private AppendDecision Decide(ConversationState state, IReadOnlyDictionary<string, TurnRow> stored)
        {
            var tokenizer = owner.Resolve(state.Model);
            return ConversationDecisions.DecideAppend(
                tenant, conversationId, state, expectedVersion, turns, stored, isBatch, tokenizer.Encoding,
                t => tokenizer.Encoding == owner.DefaultEncoding
                    ? _likely[t.Id]
                    : tokenizer.Tokenizer.CountMessageTokens(t.Role, t.Content, t.Name),
                owner.Now);
        }

        private static ConversationState Next(ConversationState state, AppendDecision.Accepted accepted) => state with
        {
            Exists = true,
            Version = state.Version + accepted.Events.Count,
            TurnCount = state.TurnCount + accepted.Events.Count(e => e is TurnAppended),
        };
    }

    private string DefaultEncoding => Resolve(writer.DefaultModel).Encoding;

    private Dictionary<string, int> CountInDefaultEncoding(IReadOnlyList<NewTurn> turns)
    {
        var tokenizer = Resolve(writer.DefaultModel).Tokenizer;
        return turns.ToDictionary(t => t.Id, t => tokenizer.CountMessageTokens(t.Role, t.Content, t.Name), StringComparer.Ordinal);
    }

    private ModelTokenizer Resolve(string model) =>
        tokenizers.TryResolve(model, out var tokenizer)
            ? tokenizer
            : throw new InvalidOperationException($"Model '{model}' has no tokenizer.");
}
