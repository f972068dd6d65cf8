using System.Diagnostics;
using Npgsql;

namespace ConversationService.Storage;

/// <summary>The service's one <see cref="NpgsqlDataSource"/>: Marten, the usage logs and the health check share its pool.</summary>
public static class DataSources
{
    public static NpgsqlDataSource Create(string? connectionString, PostgresOptions pool)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                "No PostgreSQL connection: set ConnectionStrings:Postgres (environment ConnectionStrings__Postgres).");
        }
        var builder = new NpgsqlDataSourceBuilder(Tune(connectionString, pool));
        // Commands make spans only inside a traced operation (a request, a consumer, a span of the service): the
        // daemon's polling would otherwise start a trace of its own every few milliseconds.
        builder.ConfigureTracing(tracing => tracing
            .ConfigureCommandFilter(_ => Activity.Current is not null)
            .ConfigureBatchFilter(_ => Activity.Current is not null)
            .EnableFirstResponseEvent(false));
        return builder.Build();
    }

    /// <summary>
    /// Defaults for settings the connection string leaves out. Appends repeat the same few statements: auto-preparing
    /// them saves a parse and plan per command. The store leaves no session state behind (the daemon unlocks
    /// explicitly), so the per-checkout reset is skipped. On loopback TLS protects nothing and encrypting every
    /// byte costs both processes CPU (a tenth of the service's on the context endpoint), so it is not negotiated
    /// there; any other host keeps Npgsql's default. The pool's size and wait come from <paramref name="pool"/>
    /// (Npgsql's own defaults, 100 connections and 15 s, let one busy replica take a whole server).
    /// </summary>
    internal static string Tune(string connectionString, PostgresOptions? pool = null)
    {
        pool ??= new PostgresOptions();
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        var given = Given(settings);
        if (!given.Contains("MaximumPoolSize"))
        {
            settings.MaxPoolSize = pool.MaxPoolSize;
        }
        if (!given.Contains("Timeout"))
        {
            settings.Timeout = pool.TimeoutSeconds;
        }
        if (!given.Contains("MaxAutoPrepare"))
        {
            settings.MaxAutoPrepare = 64;
        }
        if (!given.Contains("NoResetOnClose"))
        {
            settings.NoResetOnClose = true;
        }
        if (!given.Contains("SslMode") && IsLoopback(settings.Host))
        {
            settings.SslMode = SslMode.Disable;
        }
        return settings.ConnectionString;
    }

    /// <summary>
    /// The size of the pool <see cref="Create"/> builds, and the setting it comes from: the connection string's own
    /// <c>Maximum Pool Size</c> wins over <see cref="PostgresOptions.MaxPoolSize"/>.
    /// </summary>
    internal static (int Size, string Setting) PoolSize(string? connectionString, PostgresOptions pool)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        return Given(settings).Contains("MaximumPoolSize")
            ? (settings.MaxPoolSize, "Maximum Pool Size in ConnectionStrings:Postgres")
            : (pool.MaxPoolSize, "Postgres:MaxPoolSize");
    }

    /// <summary>The keys the connection string sets, without spaces (Npgsql's builder names each one canonically:
    /// "MaxPoolSize" becomes "Maximum Pool Size").</summary>
    private static HashSet<string> Given(NpgsqlConnectionStringBuilder settings) =>
        new System.Data.Common.DbConnectionStringBuilder { ConnectionString = settings.ConnectionString }.Keys
            .Cast<string>().Select(key => key.Replace(" ", "", StringComparison.Ordinal)).ToHashSet(StringComparer.OrdinalIgnoreCase);

    // Several hosts (failover) count as loopback only when all are; a path is a Unix-domain socket.
    private static bool IsLoopback(string? hosts) =>
        !string.IsNullOrWhiteSpace(hosts) && hosts.Split(',').All(host =>
        {
            var name = host.Trim();
            if (name.StartsWith('/') || name.StartsWith('@'))
            {
                return true;
            }
            if (name.StartsWith('[') && name.IndexOf(']') is > 0 and var end)
            {
                name = name[1..end]; // [IPv6]:port
            }
            else if (name.IndexOf(':') is > 0 and var colon && colon == name.LastIndexOf(':'))
            {
                name = name[..colon]; // host:port
            }
            return name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
                || (System.Net.IPAddress.TryParse(name, out var address) && System.Net.IPAddress.IsLoopback(address));
        });
}
