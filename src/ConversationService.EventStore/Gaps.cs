namespace ConversationService.EventStore;

/// <summary>
/// A hole in seq_id that may still be filled: missing values up to <see cref="Through"/> become permanent
/// once no transaction with an xid below <see cref="Horizon"/> is running.
/// </summary>
internal readonly record struct PendingGap(long Through, long Horizon);

/// <param name="Take">How many of the read rows may be handled now (a prefix).</param>
/// <param name="Checkpoint">The checkpoint after handling them.</param>
/// <param name="GapThrough">When a hole stops the prefix: the last missing value before the next present row.</param>
internal readonly record struct GapDecision(int Take, long Checkpoint, long? GapThrough);

/// <summary>
/// Why a hole can be passed safely, and only then.
/// Writers lock (upsert) the stream row before inserting events, so a writer's transaction has an xid before it
/// draws any seq_id; and the sequence is not cached, so values are drawn in increasing order. A value v missing
/// below a present row w was therefore drawn before w's transaction committed, i.e. before the read that saw the
/// hole, by a transaction whose xid was assigned even earlier. Right after that read the daemon asks for a fresh
/// xid (the horizon, see <see cref="Sql.XidHorizon"/>): xids are handed out in order, so the writer's xid is below
/// it. pg_snapshot_xmin is the oldest xid still running, so a later snapshot with xmin &gt;= horizon proves the
/// writer has committed (its rows are visible to that same snapshot) or rolled back (the value is gone for good).
/// Several consecutive missing values (a rolled-back multi-event append, values lost in a crash) are one hole.
/// pg_snapshot_xmax is not used as the horizon: it is latestCompletedXid + 1, and a running writer can hold a
/// larger xid than that. The horizon also waits for unrelated transactions; that delays, never skips.
/// </summary>
internal static class Gaps
{
    public static GapDecision Decide(long checkpoint, IReadOnlyList<long> sequences, long snapshotXmin, PendingGap? pending)
    {
        var permanentThrough = pending is { } gap && snapshotXmin >= gap.Horizon ? gap.Through : checkpoint;
        var next = checkpoint + 1;
        var take = 0;
        foreach (var sequence in sequences)
        {
            if (sequence != next && sequence - 1 > permanentThrough)
            {
                return new GapDecision(take, next - 1, sequence - 1);
            }

            take++;
            next = sequence + 1;
        }

        return new GapDecision(take, next - 1, null);
    }

    /// <summary>The pending gap to keep after a decision, or null when a fresh horizon is needed or no gap is left.</summary>
    public static PendingGap? Carry(GapDecision decision, PendingGap? pending) =>
        decision.GapThrough is not null && pending is { } gap && decision.Checkpoint < gap.Through ? gap : null;
}
