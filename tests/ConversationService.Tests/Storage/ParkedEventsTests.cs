using System.Text.Json;
using ConversationService.Storage;

namespace ConversationService.Tests.Storage;

public sealed class ParkedEventsTests
{
    [Fact]
    public void Given_errors_that_quote_content_When_described_for_a_dead_letter_Then_paths_and_quoted_text_are_left_out()
    {
        var json = new JsonException(
            "The JSON value could not be converted to System.String. Path: $.metadata.patient_name | LineNumber: 0 | BytePositionInLine: 9.");
        var wrapped = new InvalidOperationException("Cannot publish \"I feel unwell\" to 'tenant-7'", json);

        var described = ParkedEvents.Describe(wrapped);

        Assert.Equal(
            "System.InvalidOperationException: Cannot publish \"…\" to '…' ---> "
            + "System.Text.Json.JsonException: The JSON value could not be converted to System.String.",
            described);
        Assert.Equal(1_000, ParkedEvents.Describe(new InvalidOperationException(new string('x', 5_000))).Length);
    }

    [Fact]
    public void Given_an_aggregate_of_failures_When_described_Then_each_inner_one_is_named_in_order()
    {
        var described = ParkedEvents.Describe(new AggregateException(new TimeoutException("slow"), new JsonException("depth")));

        Assert.EndsWith("---> System.TimeoutException: slow ---> System.Text.Json.JsonException: depth", described);
    }
}
