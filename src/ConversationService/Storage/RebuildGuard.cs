using JasperFx.Events.Daemon;
using Marten;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Weasel.Postgresql;

namespace ConversationService.Storage;

/// <summary>
/// Keeps <c>projections rebuild</c> (README, "Rebuilding projections") from running beside the service. The projections
/// it rebuilds are inline: a running replica's appends write the same documents, and Marten's rebuild takes no lock of
/// its own. A running daemon does: in HotCold mode each shard (the subscriptions) has an advisory lock, held by the
/// replica that runs it for as long as it lives. So the command refuses while any of them is held. A replica with
/// <c>EventStore:RunDaemon=false</c> holds none; the README asks to stop those too.
/// </summary>
public static class RebuildGuard
{
    /// <summary>Whether the command line is Marten's rebuild (JasperFx: <c>projections rebuild [--projection name]</c>).</summary>
    public static bool Applies(IReadOnlyList<string> args) =>
        args.Count > 1 && args[0].Equals("projections", StringComparison.OrdinalIgnoreCase)
        && args.Skip(1).Any(a => a.Equals("rebuild", StringComparison.OrdinalIgnoreCase));

    /// <summary>Why the rebuild must not run now, or null when no daemon holds a shard of this store.</summary>
    public static async Task<string?> RunningDaemonAsync(IServiceProvider services, CancellationToken ct = default)
    {
        var store = (DocumentStore)services.GetRequiredService<IDocumentStore>();
        // Marten's own read of who holds a shard's lock, with the ids its HotCold coordinator computes.
        await using var locks = new AdvisoryLock(
            services.GetRequiredService<NpgsqlDataSource>(), NullLogger.Instance, "rebuild guard", new AdvisoryLockOptions());
        foreach (var shard in store.Options.Projections.AllShards())
        {
            var lockId = ProjectionLockIds.Compute(store.Events.DatabaseSchemaName, shard.Name, store.Options.Projections.DaemonLockId);
            if (await locks.FindHolderAsync(lockId, ct) is { } holder)
            {
                return Refusal(shard.Name.Identity, holder);
            }
        }
        return null;
    }

    internal static string Refusal(string shard, AdvisoryLockHolder holder)
    {
        string?[] known =
        [
            holder.SessionId is { } pid ? $"PostgreSQL backend {pid}" : null,
            holder.ClientAddress is { } client ? $"client {client}" : null,
            string.IsNullOrEmpty(holder.ApplicationName) ? null : $"application '{holder.ApplicationName}'",
            holder.HeldSince is { } since ? $"connected since {since:u}" : null,
        ];
        return "Not rebuilding: a replica of the service is running on this database. Its async daemon holds the lock of "
            + $"{shard} ({string.Join(", ", known.OfType<string>())}). Stop every replica of the service first, also "
            + "those with EventStore:RunDaemon=false, which hold no lock, then run the command again (README, "
            + "\"Rebuilding projections\").";
    }
}
