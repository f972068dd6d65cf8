using System.Net.Sockets;
using System.Text.Json;
using Npgsql;

namespace ConversationService.EventStore.Tests;

public sealed class DaemonHealthTests
{
    private static readonly DateTimeOffset Now = new(2025, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly EventStoreOptions Limits = new() { MaxLagEvents = 100, MaxLagSeconds = 30 };

    [Fact]
    public void Given_projections_at_the_head_without_failures_or_parked_events_Then_nothing_is_wrong()
    {
        Assert.Empty(DaemonHealth.Problems(
            [new("a", 500, 500, null, 0, 0, null), new("b", 450, 500, Now.AddSeconds(-2), 0, 2, "x")], Limits, Now));
    }

    [Fact]
    public void Given_parked_failing_and_lagging_projections_Then_each_problem_is_named_with_its_projection()
    {
        var problems = DaemonHealth.Problems(
        [
            new("parked", 500, 500, null, 2, 0, null),
            new("failing", 500, 500, null, 0, DaemonHealth.StuckAfterFailures, "System.TimeoutException: slow"),
            new("behind", 399, 500, Now.AddSeconds(-1), 0, 0, null),
            new("stale", 499, 500, Now.AddSeconds(-31), 0, 0, null),
        ], Limits, Now);

        Assert.Equal(
        [
            "parked: 2 parked event(s), see the dead_letters table",
            "failing: failed 3 times in a row, last: System.TimeoutException: slow",
            "behind: 101 events behind the log (limit 100)",
            "stale: the oldest unprocessed event is 31 s old (limit 30 s)",
        ], problems);
    }

    [Fact]
    public void Given_infrastructure_failures_Then_they_are_transient_and_failures_about_data_are_not()
    {
        Assert.True(EventFailures.IsTransient(new TimeoutException()));
        Assert.True(EventFailures.IsTransient(new OperationCanceledException()));
        Assert.True(EventFailures.IsTransient(new NpgsqlException("Exception while reading from stream", new IOException())));
        Assert.True(EventFailures.IsTransient(new InvalidOperationException("wrapped", new SocketException())));
        Assert.True(EventFailures.IsTransient(new AggregateException(new JsonException(), new HttpRequestException())));
        Assert.True(EventFailures.IsTransient(Postgres("42P01")));
        Assert.True(EventFailures.IsTransient(Postgres("57P01")));

        Assert.False(EventFailures.IsTransient(new JsonException("depth")));
        Assert.False(EventFailures.IsTransient(new InvalidOperationException("bug", new NotSupportedException())));
        Assert.False(EventFailures.IsTransient(Postgres("22P02")));
        Assert.False(EventFailures.IsTransient(Postgres("23505")));
        Assert.False(EventFailures.IsTransient(Postgres("54000")));
    }

    [Fact]
    public void Given_errors_that_quote_content_When_described_Then_paths_and_quoted_text_are_left_out()
    {
        var json = new JsonException(
            "The JSON value could not be converted to System.String. Path: $.metadata.patient_name | LineNumber: 0 | BytePositionInLine: 9.");
        var wrapped = new InvalidOperationException("Cannot publish \"I feel unwell\" to 'tenant-7'", json);

        var described = EventFailures.Describe(wrapped);

        Assert.Equal(
            "System.InvalidOperationException: Cannot publish \"…\" to '…' ---> "
            + "System.Text.Json.JsonException: The JSON value could not be converted to System.String.",
            described);
        Assert.Equal(1_000, EventFailures.Describe(new InvalidOperationException(new string('x', 5_000))).Length);
    }

    private static PostgresException Postgres(string sqlState) =>
        new("message", "ERROR", "ERROR", sqlState);
}
