using System.Collections.Concurrent;

namespace ConversationService.EventStore.Tests;

public sealed record Noted(string Text);

/// <summary>Makes its append wait, after its seq_id is drawn, on advisory lock <see cref="LockKey"/>; then fail if asked.</summary>
public sealed record Blocked(long LockKey, bool Fail);

public sealed record TurnAppended(string TurnId);

/// <summary>A number JSON cannot carry when it is NaN or infinite: such an event cannot be serialized.</summary>
public sealed record Measured(double Value);

/// <summary>An event whose inline projection throws while its commands are built (<see cref="Blocker"/>).</summary>
public sealed record Poisoned(string Why);

/// <summary>Content that a deletion erases.</summary>
public sealed record Secret(string Text) : IErasable
{
    public object Erased() => this with { Text = "" };
}

public static class TestEvents
{
    public const string StreamType = "test";
    public const string Tenant = "tenant-a";

    public static void Register(EventTypeRegistry registry) =>
        registry.Register<Noted>().Register<Blocked>().Register<TurnAppended>().Register<Secret>()
            .Register<Measured>().Register<Poisoned>();

    public static object[] Notes(params string[] texts) => [.. texts.Select(t => new Noted(t))];
}

/// <summary>Counts notes per stream in its own table, inside the append transaction.</summary>
public sealed class NoteCounter : IInlineProjection
{
    public string Ddl(string schema) => $"""
        CREATE TABLE IF NOT EXISTS {schema}.note_counts (
            tenant_id text NOT NULL, stream_id text NOT NULL, notes int NOT NULL, last_version bigint NOT NULL,
            PRIMARY KEY (tenant_id, stream_id))
        """;

    public void Apply(InlineBatch batch, IReadOnlyList<StoredEvent> events) =>
        batch.Add(
            $"""
            INSERT INTO {batch.Schema}.note_counts (tenant_id, stream_id, notes, last_version) VALUES ($1, $2, $3, $4)
            ON CONFLICT (tenant_id, stream_id) DO UPDATE
            SET notes = note_counts.notes + excluded.notes, last_version = excluded.last_version
            """,
            batch.TenantId, batch.StreamId, events.Count(e => e.Data is Noted), events[^1].Version);
}

/// <summary>Lets a test hold an append open after it drew its sequence values (and make it fail).</summary>
public sealed class Blocker : IInlineProjection
{
    public string Ddl(string schema) => "";

    public void Apply(InlineBatch batch, IReadOnlyList<StoredEvent> events)
    {
        if (events.Select(e => e.Data).OfType<Poisoned>().FirstOrDefault() is { } poisoned)
        {
            throw new InvalidOperationException(poisoned.Why);
        }
        foreach (var blocked in events.Select(e => e.Data).OfType<Blocked>())
        {
            batch.Add("SELECT pg_advisory_xact_lock_shared($1)", blocked.LockKey);
            if (blocked.Fail)
            {
                batch.Add("SELECT 1 / 0");
            }
        }
    }
}

public sealed class Recorder : IAsyncProjection
{
    private readonly ConcurrentQueue<StoredEvent> _handled = new();

    private readonly ConcurrentQueue<int> _startedAt = new();

    public string Name => "recorder";
    public IReadOnlyList<StoredEvent> Handled => [.. _handled];

    /// <summary>How many events had been handled each time this replica took the projection over.</summary>
    public IReadOnlyList<int> StartedAt => [.. _startedAt];

    public string Ddl(string schema) => "";

    public void Started() => _startedAt.Enqueue(_handled.Count);

    public Task HandleAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken)
    {
        foreach (var e in events)
        {
            _handled.Enqueue(e);
        }

        return Task.CompletedTask;
    }
}
