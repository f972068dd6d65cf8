using Microsoft.Extensions.Options;

namespace ConversationService.EventStore;

/// <summary>
/// The store's own bound on PostgreSQL (configuration section <c>Postgres</c>). Every connection of the store, its
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

internal sealed class PostgresOptionsValidator : IValidateOptions<PostgresOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresOptions options)
    {
        var failures = Problems(options).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
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
}
