using System.Text.Json;
using ConversationService.Summaries;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Projections;
using Marten.Patching;
using Marten.Schema;
using Npgsql;
using Marten.Schema.Indexing.Unique;

namespace ConversationService.Conversations;

/// <summary>
/// A conversation's settings, counters and current rolling summary: one small document per conversation whatever
/// its length (the turns are documents of their own). <see cref="Version"/> is the conversation stream's version.
/// </summary>
public sealed class ConversationView
{
    public string Id { get; set; } = "";
    public long Version { get; set; }
    public string Model { get; set; } = "";
    public string? SystemPrompt { get; set; }
    public JsonElement? Metadata { get; set; }
    public int TurnCount { get; set; }
    public long TotalTokens { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public CurrentSummary? Summary { get; set; }
}

/// <summary>One turn, written once when appended. Its id is "conversation#index" (a conversation id has no '#').</summary>
public sealed class TurnView
{
    public string Id { get; set; } = "";
    public string ConversationId { get; set; } = "";
    public int Index { get; set; }
    public string TurnId { get; set; } = "";
    public string Role { get; set; } = "";
    public string Content { get; set; } = "";
    public string? Name { get; set; }
    public DateTimeOffset OccurredAt { get; set; }
    public int Tokens { get; set; }
    public string Encoding { get; set; } = "";

    /// <summary>The version of the turn's event in the conversation stream.</summary>
    public long Version { get; set; }

    public JsonElement? Metadata { get; set; }

    public static string IdOf(string conversationId, int index) => $"{conversationId}#{index}";
}

/// <summary>
/// Keeps <see cref="ConversationView"/> and <see cref="TurnView"/> inline, in the append's transaction, so a reader
/// never sees a turn without its conversation's counters. An append writes each new turn once and patches the
/// conversation's counters once (never reading or rewriting the turns before it). Deleting a conversation deletes
/// its documents; the delete also erases the content of its events (see DeleteConversation).
/// <para>
/// Rebuildable from the log (README, "Rebuilding projections"): a rebuild deletes both document types first and applies
/// every event again, a deleted conversation's erased ones included, which leave nothing behind.
/// </para>
/// </summary>
public sealed class ConversationProjection : ProjectionBase, IProjection
{
    /// <summary>Unique per tenant and conversation: the final word on turn-id idempotency.</summary>
    public const string TurnIdIndex = "turn_id_unique";

    /// <summary>A conversation's turns in order: what paging, context assembly and the summary trigger read by.</summary>
    private const string TurnIndexIndex = "turn_index_unique";

    /// <summary>Whether <paramref name="e"/> is a turn id stored already meeting the unique index (a replay).</summary>
    public static bool IsTurnIdViolation(Exception e)
    {
        for (var current = e; current is not null; current = current.InnerException)
        {
            if (current is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } unique
                && unique.ConstraintName?.Contains(TurnIdIndex, StringComparison.Ordinal) == true)
            {
                return true;
            }
        }
        return false;
    }

    public const string ProjectionName = "conversations";

    public ConversationProjection()
    {
        Name = ProjectionName;
        // What a rebuild reads of the log, and the documents it writes, which it deletes before it starts.
        IncludeType<ConversationStarted>();
        IncludeType<ConversationSettingsChanged>();
        IncludeType<TurnAppended>();
        IncludeType<ConversationDeleted>();
        IncludeType<ConversationSummarized>();
        RegisterPublishedType(typeof(ConversationView));
        Options.DeleteViewTypeOnTeardown<ConversationView>();
        RegisterPublishedType(typeof(TurnView));
        Options.DeleteViewTypeOnTeardown<TurnView>();
        // A rebuild's page: chats interleave in the log, so a larger page holds several turns of each conversation and
        // patches its counters once for them (500, Marten's default, made the import of 50,000 events 1.5x slower).
        Options.BatchSize = 5_000;
    }

    public static void Register(StoreOptions options)
    {
        options.Events.AddEventType<ConversationStarted>();
        options.Events.AddEventType<ConversationSettingsChanged>();
        options.Events.AddEventType<TurnAppended>();
        options.Events.AddEventType<ConversationDeleted>();
        options.Schema.For<ConversationView>();
        // Two indexes besides the primary key, each on duplicated columns (no index of their own): every read of turns
        // names its conversation, and a turn is written once, so each index more is a cost on every append. Per tenant,
        // as conversation ids are: two tenants' conversations may share an id and their turn ids.
        options.Schema.For<TurnView>()
            .UniqueIndex(UniqueIndexType.DuplicatedField, TurnIndexIndex, TenancyScope.PerTenant, t => t.ConversationId, t => t.Index)
            .UniqueIndex(UniqueIndexType.DuplicatedField, TurnIdIndex, TenancyScope.PerTenant, t => t.ConversationId, t => t.TurnId);
        options.Projections.Add(new ConversationProjection(), ProjectionLifecycle.Inline, ProjectionName);
    }

    public Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        foreach (var stream in events.GroupBy(e => (e.TenantId, e.StreamKey!)))
        {
            Apply(operations.ForTenant(stream.Key.TenantId), stream.Key.Item2, [.. stream]);
        }
        return Task.CompletedTask;
    }

    private static void Apply(IDocumentOperations operations, string streamKey, IReadOnlyList<IEvent> events)
    {
        var (turns, tokens) = (0, 0L);
        IEvent? last = null;
        foreach (var e in events)
        {
            switch (e.Data)
            {
                case ConversationStarted started:
                    operations.Insert(new ConversationView
                    {
                        Id = streamKey, Version = e.Version, Model = started.Model, SystemPrompt = started.SystemPrompt,
                        Metadata = started.Metadata, CreatedAt = started.StartedAt, UpdatedAt = started.StartedAt,
                    });
                    break;
                case ConversationSettingsChanged changed:
                    Change(operations.Patch<ConversationView>(streamKey), changed);
                    last = e;
                    break;
                case TurnAppended turn:
                    operations.Insert(new TurnView
                    {
                        Id = TurnView.IdOf(streamKey, turn.Index), ConversationId = streamKey, Index = turn.Index,
                        TurnId = turn.TurnId, Role = turn.Role, Content = turn.Content, Name = turn.Name,
                        OccurredAt = turn.OccurredAt, Tokens = turn.Tokens, Encoding = turn.Encoding, Version = e.Version,
                        Metadata = turn.Metadata,
                    });
                    (turns, tokens, last) = (turns + 1, tokens + turn.Tokens, e);
                    break;
                case ConversationSummarized summarized:
                    // The summary stream's events: a conversation deleted meanwhile has no document to patch.
                    operations.Patch<ConversationView>(SummaryStream.ConversationIdOf(streamKey)).Set(v => v.Summary,
                        new CurrentSummary(summarized.ThroughIndex, summarized.Summary, summarized.SummaryTokens, summarized.Encoding,
                            summarized.Provisional, summarized.Base));
                    break;
                case ConversationDeleted when streamKey == SummaryStream.ConversationIdOf(streamKey):
                    operations.Delete<ConversationView>(streamKey);
                    operations.DeleteWhere<TurnView>(t => t.ConversationId == streamKey);
                    return;
            }
        }
        if (last is not null)
        {
            var patch = operations.Patch<ConversationView>(streamKey).Set(v => v.Version, last.Version)
                .Set(v => v.UpdatedAt, AsStored(last.Timestamp));
            if (turns > 0)
            {
                patch.Increment(v => v.TurnCount, turns).Increment(v => v.TotalTokens, tokens);
            }
        }
    }

    /// <summary>
    /// The event's time as PostgreSQL stores it, to the microsecond: an append hands the projection the clock's ticks,
    /// a rebuild the stored value, and both must write the same document.
    /// </summary>
    private static DateTimeOffset AsStored(DateTimeOffset timestamp) => timestamp.AddTicks(-(timestamp.Ticks % 10));

    private static void Change(JasperFx.Events.IPatchExpression<ConversationView> patch, ConversationSettingsChanged changed)
    {
        if (changed.SystemPrompt is { } prompt)
        {
            patch.Set(v => v.SystemPrompt, prompt);
        }
        if (changed.Model is { } model)
        {
            patch.Set(v => v.Model, model);
        }
        if (changed.Metadata is { } metadata)
        {
            patch.Set(v => v.Metadata, metadata);
        }
    }
}
