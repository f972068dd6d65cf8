using System.Text.RegularExpressions;

namespace ConversationService.Storage;

/// <summary>The event store (Marten) and how the service writes to it (configuration section <c>EventStore</c>).</summary>
public sealed class EventStoreOptions
{
    /// <summary>PostgreSQL schema of Marten's tables: events, streams, progression and every projected document.</summary>
    public string Schema { get; set; } = "conversations";

    /// <summary>
    /// Group commit: how many commits may run at once (each on its own connection), and how many appends one commit may
    /// carry. One writer makes the largest groups, hence the fewest commits per append.
    /// </summary>
    public int AppendWriters { get; set; } = 1;

    public int MaxAppendsPerCommit { get; set; } = 64;

    /// <summary>Whether this replica runs Marten's async daemon (projections and subscriptions, one replica each).</summary>
    public bool RunDaemon { get; set; } = true;

    /// <summary>
    /// Whether a start imports the log of the service's own earlier event store, found in the same schema, into Marten
    /// (once; see <see cref="OwnStoreImport"/>).
    /// </summary>
    public bool ImportOwnStore { get; set; } = true;

    /// <summary>How often each replica reads the log for the events it follows itself (see <see cref="IReplicaSubscription"/>).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Readiness is Degraded while an async projection or subscription is more than this many events behind.</summary>
    public long MaxLagEvents { get; set; } = 10_000;

    /// <summary>Readiness is Degraded while an async projection or subscription has not moved for this long while behind.</summary>
    public int MaxLagSeconds { get; set; } = 60;
}

/// <summary>
/// The service's own bound on PostgreSQL (configuration section <c>Postgres</c>). Every connection of the store, its
/// daemon and whatever else resolves the <see cref="Npgsql.NpgsqlDataSource"/> comes out of one pool of at most
/// <see cref="MaxPoolSize"/>, so several replicas and other clients can share a server's <c>max_connections</c>
/// instead of one busy replica taking every slot (SQLSTATE 53300 for everybody else). A connection string that sets
/// <c>Maximum Pool Size</c> or <c>Timeout</c> itself keeps its own value.
/// </summary>
public sealed class PostgresOptions
{
    /// <summary>Most connections the pool opens (Npgsql <c>Maximum Pool Size</c>).</summary>
    public int MaxPoolSize { get; set; } = 20;

    /// <summary>
    /// How long opening a connection waits for a free one in the pool, and for the server (Npgsql <c>Timeout</c>,
    /// whole seconds, rounded up). Past it the caller gets Npgsql's "connection pool has been exhausted" error, which
    /// the service answers with 503, instead of waiting for as long as PostgreSQL stays busy.
    /// </summary>
    public TimeSpan ConnectionTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Npgsql's <c>Timeout</c>: whole seconds; 0 would mean waiting forever, so it is never below 1.</summary>
    internal int TimeoutSeconds => (int)Math.Ceiling(ConnectionTimeout.TotalSeconds);
}

/// <summary>The problems of the storage options, each naming the key to set (checked at start).</summary>
internal static partial class StorageOptionsValidator
{
    [GeneratedRegex(@"^[a-z_][a-z0-9_]{0,62}\z")]
    private static partial Regex SafeIdentifier();

    public static IEnumerable<string> Problems(EventStoreOptions options)
    {
        if (options.Schema is null || !SafeIdentifier().IsMatch(options.Schema))
        {
            yield return $"EventStore:Schema '{options.Schema}' is invalid: set it to a lower-case identifier matching [a-z_][a-z0-9_]{{0,62}}.";
        }
        if (options.PollInterval <= TimeSpan.Zero || options.PollInterval > TimeSpan.FromMinutes(10))
        {
            yield return "EventStore:PollInterval must be between 1 ms and 10 minutes (e.g. 00:00:00.250).";
        }
        if (options.AppendWriters is < 1 or > 64)
        {
            yield return "EventStore:AppendWriters must be between 1 and 64.";
        }
        if (options.MaxAppendsPerCommit is < 1 or > 1_000)
        {
            yield return "EventStore:MaxAppendsPerCommit must be between 1 and 1000.";
        }
        if (options.MaxLagEvents is < 1 or > 1_000_000_000)
        {
            yield return "EventStore:MaxLagEvents must be between 1 and 1000000000.";
        }
        if (options.MaxLagSeconds is < 1 or > 86_400)
        {
            yield return "EventStore:MaxLagSeconds must be between 1 and 86400 (a day).";
        }
    }

    public static IEnumerable<string> Problems(PostgresOptions options)
    {
        if (options.MaxPoolSize is < 1 or > 1_000)
        {
            yield return "Postgres:MaxPoolSize must be between 1 and 1000 connections; count it against the server's "
                + "max_connections with every replica and other client (README, \"Overload\").";
        }
        // Npgsql takes whole seconds up to 1024.
        if (options.ConnectionTimeout < TimeSpan.FromSeconds(1) || options.ConnectionTimeout > TimeSpan.FromSeconds(1_024))
        {
            yield return "Postgres:ConnectionTimeout must be between 00:00:01 and 00:17:04 (e.g. 00:00:05).";
        }
    }

    /// <summary>
    /// The daemon's connections are held while it runs: a pool without room beyond them and the group commit's writers
    /// would leave every request waiting for the pool's timeout and failing. Checked against the pool the data source
    /// is built with (<see cref="DataSources.PoolSize"/>); none is built without a connection string.
    /// </summary>
    public static IEnumerable<string> Problems(PostgresOptions pool, EventStoreOptions storage, string? connectionString)
    {
        if (!storage.RunDaemon || string.IsNullOrWhiteSpace(connectionString))
        {
            yield break;
        }
        var needed = StorageModule.DaemonConnections + storage.AppendWriters + 1;
        var (size, setting) = DataSources.PoolSize(connectionString, pool);
        if (size < needed)
        {
            yield return $"{setting} is {size}, which leaves no connection for requests: the async daemon holds up to "
                + $"{StorageModule.DaemonConnections} and EventStore:AppendWriters is {storage.AppendWriters}. "
                + $"Set it to at least {needed}.";
        }
    }
}

/// <summary>The event-store schema name, validated once so it can be spliced into SQL safely.</summary>
public sealed record DatabaseSchema(string Name);
