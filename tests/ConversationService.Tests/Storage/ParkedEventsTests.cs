using System.Reflection;
using System.Text.Json;
using System.Diagnostics.Metrics;
using ConversationService.Conversations;
using ConversationService.Storage;
using ConversationService.Tests.Infrastructure;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ConversationService.Tests.Storage;

public sealed class ParkedEventsTests
{
    private const string Content = "my PIN is 4711";

    [Fact]
    public void Given_errors_that_quote_content_When_described_for_a_dead_letter_Then_only_their_types_and_SQLSTATE_are_kept()
    {
        // The event's JSON embedded in a message, with an escaped quote inside a string, and a message cut off
        // mid-string: quoted text alone cannot be told from content.
        var json = new JsonException(
            $$"""Cannot read {"role":"user","content":"she said \"{{Content}}\" twice"} Path: $.metadata.patient_name""");
        var cutOff = new InvalidOperationException($$"""Cannot publish {"content":"{{Content}}""", json);
        var database = new PostgresException($"invalid input syntax for type integer: {Content}", "ERROR", "ERROR", "22P02");

        var described = ParkedEvents.Describe(new AggregateException(cutOff, database));

        Assert.DoesNotContain("PIN", described, StringComparison.Ordinal);
        Assert.Equal(
            "System.AggregateException ---> System.InvalidOperationException ---> System.Text.Json.JsonException"
            + " ---> Npgsql.PostgresException (SQLSTATE 22P02)",
            described);
    }

    [Fact]
    public async Task Given_an_event_that_cannot_be_published_When_it_is_parked_Then_neither_the_dead_letter_nor_the_log_holds_the_errors_message()
    {
        var agent = RecordingAgent.Create();
        var logs = new LogSink();
        var stored = new JasperFx.Events.Event<TurnAppended>(
            new TurnAppended("t-1", 1, "user", Content, null, DateTimeOffset.UtcNow, 5, "o200k_base", null))
        {
            Sequence = 42,
            Version = 1,
            TenantId = "tenant-a",
            StreamKey = "chat-1",
            EventTypeName = "turn_appended",
        };
        var error = new InvalidOperationException($$"""Cannot serialize {"content":"she said \"{{Content}}\""}""");

        var meter = TestMeters.Create();
        var parked = new List<(long Count, object? Subscription)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == meter.Meter && instrument.Name == "conversation_service.events.parked")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, count, tags, _) => parked.Add((count, tags[0].Value)));
        listener.Start();

        await ParkedEvents.ParkAsync(agent, stored, error, logs.CreateLogger("test"), new ParkedEventCounter(meter));

        var letter = Assert.Single(((RecordingAgent)(object)agent).Letters);
        var line = Assert.Single(logs.Messages);
        Assert.DoesNotContain("PIN", letter.ExceptionMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("PIN", line, StringComparison.Ordinal);
        Assert.Equal((42L, "tenant-a", "System.InvalidOperationException"), (letter.EventSequence, letter.TenantId, letter.ExceptionType));
        Assert.Equal("System.InvalidOperationException", letter.ExceptionMessage);
        Assert.Contains("parked event 42 (turn_appended, version 1 of stream chat-1, tenant tenant-a)", line, StringComparison.Ordinal);
        Assert.Equal([(1L, (object?)"integration_events")], parked);
    }

    [Fact]
    public void Given_a_long_chain_When_described_Then_it_is_cut_at_a_thousand_characters()
    {
        Exception error = new InvalidOperationException();
        for (var i = 0; i < 30; i++)
        {
            error = new InvalidOperationException(null, error);
        }

        Assert.Equal(1_000, ParkedEvents.Describe(error).Length);
    }

    /// <summary>The daemon's agent of a subscription, keeping the dead letters recorded through it.</summary>
    public class RecordingAgent : DispatchProxy
    {
        public List<DeadLetterEvent> Letters { get; } = [];

        public static ISubscriptionAgent Create() => DispatchProxy.Create<ISubscriptionAgent, RecordingAgent>();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            switch (targetMethod?.Name)
            {
                case "get_Name":
                    return new ShardName("integration_events");
                case nameof(ISubscriptionAgent.RecordDeadLetterEventAsync) when args is [DeadLetterEvent letter]:
                    Letters.Add(letter);
                    return Task.CompletedTask;
                default:
                    throw new NotSupportedException(targetMethod?.Name);
            }
        }
    }
}
