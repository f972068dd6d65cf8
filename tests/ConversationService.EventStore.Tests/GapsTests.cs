namespace ConversationService.EventStore.Tests;

public sealed class GapsTests
{
    [Fact]
    public void Given_contiguous_rows_When_deciding_Then_all_are_taken()
    {
        var decision = Gaps.Decide(checkpoint: 10, [11, 12, 13], snapshotXmin: 100, pending: null);

        Assert.Equal(new GapDecision(3, 13, null), decision);
    }

    [Fact]
    public void Given_a_hole_When_no_gap_is_pending_Then_rows_stop_before_it()
    {
        var decision = Gaps.Decide(checkpoint: 10, [11, 14, 15], snapshotXmin: 100, pending: null);

        Assert.Equal(new GapDecision(1, 11, 13), decision);
        Assert.Null(Gaps.Carry(decision, null));
    }

    [Fact]
    public void Given_a_pending_gap_When_older_transactions_still_run_Then_it_is_held_and_kept()
    {
        var pending = new PendingGap(Through: 13, Horizon: 500);

        var decision = Gaps.Decide(checkpoint: 11, [14, 15], snapshotXmin: 499, pending);

        Assert.Equal(new GapDecision(0, 11, 13), decision);
        Assert.Equal(pending, Gaps.Carry(decision, pending));
    }

    [Fact]
    public void Given_a_pending_gap_When_every_older_transaction_ended_Then_the_missing_values_are_passed()
    {
        var pending = new PendingGap(Through: 13, Horizon: 500);

        var decision = Gaps.Decide(checkpoint: 11, [14, 15], snapshotXmin: 500, pending);

        Assert.Equal(new GapDecision(2, 15, null), decision);
        Assert.Null(Gaps.Carry(decision, pending));
    }

    [Fact]
    public void Given_a_partly_filled_gap_When_the_late_value_arrived_Then_it_is_taken_and_the_rest_is_still_held()
    {
        var pending = new PendingGap(Through: 13, Horizon: 500);

        var decision = Gaps.Decide(checkpoint: 11, [12, 14], snapshotXmin: 400, pending);

        Assert.Equal(new GapDecision(1, 12, 13), decision);
        Assert.Equal(pending, Gaps.Carry(decision, pending));
    }

    [Fact]
    public void Given_a_passed_gap_When_a_new_hole_follows_Then_it_needs_a_fresh_horizon()
    {
        var pending = new PendingGap(Through: 13, Horizon: 500);

        var decision = Gaps.Decide(checkpoint: 11, [14, 17], snapshotXmin: 600, pending);

        Assert.Equal(new GapDecision(1, 14, 16), decision);
        Assert.Null(Gaps.Carry(decision, pending));
    }

    [Fact]
    public void Given_a_hole_right_after_the_checkpoint_When_nothing_is_pending_Then_nothing_is_taken()
    {
        var decision = Gaps.Decide(checkpoint: 0, [3], snapshotXmin: 100, pending: null);

        Assert.Equal(new GapDecision(0, 0, 2), decision);
    }
}
