using System.Net;
using System.Text.Json.Nodes;
using ConversationService.Contracts;
using ConversationService.Summaries;
using ConversationService.Tests.Infrastructure;
using ConversationService.Tests.Messaging;

namespace ConversationService.Tests.Summaries;

[Collection(MessagingCollection.Name)]
public sealed class SummaryTests(MessagingFixture fixture)
{
    [Fact]
    public async Task Given_120_turns_posted_When_the_context_is_requested_Then_a_summary_stands_in_for_the_older_turns()
    {
        var id = ApiClient.NewId();
        await using var subscriber = await TestSubscriber.StartAsync(c => c == id);
        using var api = fixture.Client();

        for (var i = 1; i <= 120; i++)
        {
            (await api.AppendTurnAsync(id, i % 2 == 1 ? "user" : "assistant", SummaryProbe.Sentence(i))).Expect(HttpStatusCode.Created);
        }

        // ~45 tokens a turn: a summary is due whenever ~1,500 tokens pile up behind the newest 2,000.
        await subscriber.WaitForAsync<ConversationService.Contracts.ConversationSummarized>(
            s => s.Count > 0 && s[^1].ThroughIndex >= 30, TimeSpan.FromSeconds(30));
        await Task.Delay(500); // a later summary, if any, is in flight now
        var summarized = subscriber.Received.OfType<ConversationService.Contracts.ConversationSummarized>().ToList();
        Assert.Equal(1, summarized[0].FromIndex);
        for (var i = 1; i < summarized.Count; i++)
        {
            Assert.Equal(summarized[i - 1].ThroughIndex + 1, summarized[i].FromIndex);
        }
        var summary = summarized[^1];
        Assert.InRange(summary.ThroughIndex, 30, 80);
        Assert.Equal(ExtractiveSummarizer.ModelName, summary.Model);
        Assert.InRange(summary.SummaryTokens, 1, 300);

        var context = (await api.GetContextAsync(id, "budget=3000")).Expect(HttpStatusCode.OK).Body;
        var sections = context["sections"]!.AsArray();
        Assert.Equal("summary", sections[0]!["kind"]!.GetValue<string>());
        var recent = sections.Single(s => s!["kind"]!.GetValue<string>() == "recent")!["items"]!.AsArray();
        Assert.True(recent.Count > 0);
        var messages = context["messages"]!.AsArray();
        Assert.StartsWith("Summary of the earlier conversation:", messages[0]!["content"]!.GetValue<string>());
        Assert.Contains(summary.Summary, messages[0]!["content"]!.GetValue<string>());
        // The turns after the summary follow it, up to the newest one; none the summary covers is repeated.
        Assert.Equal(SummaryProbe.Sentence(120), messages[^1]!["content"]!.GetValue<string>());
        Assert.DoesNotContain(messages, m => m!["content"]!.GetValue<string>() == SummaryProbe.Sentence(summary.ThroughIndex));
        Assert.True(context["tokens"]!.GetValue<int>() <= 3000);
        Assert.True(context["fullHistoryTokens"]!.GetValue<long>() > 3000);

        var conversation = (await api.GetConversationAsync(id)).Expect(HttpStatusCode.OK).Body;
        Assert.Equal(summary.Summary, conversation["summary"]!.GetValue<string>());
    }

    [Fact]
    public async Task Given_a_short_conversation_with_a_summary_When_the_whole_history_fits_Then_it_is_served_verbatim()
    {
        var id = ApiClient.NewId();
        using var api = fixture.Client();
        await SummaryProbe.PostTurnsAsync(api, id, 6);
        await SendAsync(new SummarizeConversation("tenant-a", id, 4, DateTimeOffset.UtcNow));
        await WaitForSummariesAsync(id, 1);

        var context = (await api.GetContextAsync(id, "budget=100000")).Expect(HttpStatusCode.OK).Body;

        Assert.DoesNotContain(context["sections"]!.AsArray(), s => s!["kind"]!.GetValue<string>() == "summary");
        Assert.Equal(6, context["messages"]!.AsArray().Count);
    }

    [Fact]
    public async Task Given_two_instances_When_duplicate_and_stale_commands_arrive_Then_each_range_is_summarized_once()
    {
        var second = fixture.CreateFactory();
        using (second.CreateClient())
        {
            var id = ApiClient.NewId();
            using var api = fixture.Client();
            await SummaryProbe.PostTurnsAsync(api, id, 10);

            // Eight copies at once, consumed by both instances.
            await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
                SendAsync(new SummarizeConversation("tenant-a", id, 6, DateTimeOffset.UtcNow))));
            var first = await WaitForSummariesAsync(id, 1);
            // Late duplicates and an older request change nothing; a newer one continues from the stored summary.
            await SendAsync(new SummarizeConversation("tenant-a", id, 6, DateTimeOffset.UtcNow));
            await SendAsync(new SummarizeConversation("tenant-a", id, 3, DateTimeOffset.UtcNow));
            await SendAsync(new SummarizeConversation("tenant-a", id, 9, DateTimeOffset.UtcNow));
            var all = await WaitForSummariesAsync(id, 2);
            await Task.Delay(500);
            all = await SummariesAsync(id);

            Assert.Equal((1, 6), Assert.Single(first));
            Assert.Equal([(1, 6), (7, 9)], all);
        }
    }

    [Fact]
    public async Task Given_a_backlog_larger_than_one_call_When_summarizing_Then_it_is_folded_in_contiguous_chunks_within_the_cap()
    {
        var small = fixture.CreateFactory(new Dictionary<string, string?>
        {
            ["Messaging:EndpointPrefix"] = fixture.EndpointPrefix + "small-",
            ["Summaries:MaxInputTokens"] = "100",
        });
        var id = ApiClient.NewId();
        using var api = fixture.Client();
        await SummaryProbe.PostTurnsAsync(api, id, 10);

        await SummaryProbe.SendAsync(small, id, 10);

        var ranges = await WaitUntilCoveredAsync(id, 10);
        Assert.True(ranges.Count >= 4, string.Join(" ", ranges));
        Assert.Equal(1, ranges[0].From);
        Assert.Equal(10, ranges[^1].Through);
        for (var i = 1; i < ranges.Count; i++)
        {
            Assert.Equal(ranges[i - 1].Through + 1, ranges[i].From);
        }
    }

    [Fact]
    public async Task Given_a_command_for_another_tenant_or_a_deleted_conversation_Then_nothing_is_stored()
    {
        var id = ApiClient.NewId();
        using var api = fixture.Client();
        await SummaryProbe.PostTurnsAsync(api, id, 4);
        await SendAsync(new SummarizeConversation("tenant-b", id, 3, DateTimeOffset.UtcNow));
        (await api.DeleteConversationAsync(id)).Expect(HttpStatusCode.NoContent);
        await SendAsync(new SummarizeConversation("tenant-a", id, 3, DateTimeOffset.UtcNow));

        await Task.Delay(1_000);

        Assert.Empty(await SummariesAsync(id));
    }

    [Fact]
    public async Task Given_a_summarized_conversation_When_it_is_deleted_Then_its_events_stay_in_the_log_without_their_content()
    {
        var id = ApiClient.NewId();
        var secret = "zebra" + Guid.NewGuid().ToString("N")[..12];
        using var api = fixture.Client();
        (await api.SendAsync(HttpMethod.Put, $"/conversations/{id}",
            new { systemPrompt = $"You help {secret}.", metadata = new { owner = secret } })).Expect(HttpStatusCode.Created);
        var turns = Enumerable.Range(1, 6).Select(i => new
        {
            role = i % 2 == 1 ? "user" : "assistant", name = $"n{secret}", metadata = new { tag = secret },
            content = $"Turn {i}: the code word is {secret} and the meeting moves to room {100 + i}.",
        }).ToArray();
        (await api.AppendAsync(id, new { turns })).Expect(HttpStatusCode.Created);
        await SummaryProbe.SendAsync(fixture.Factory, id, 6);
        Assert.Contains(secret, (await SummaryProbe.WaitForSummariesAsync(fixture.ConnectionString, id, 1)).Single().Text);
        var before = await ServiceFixtureQueries.StoredEventsAsync(fixture.ConnectionString, id, SummaryStream.Id(id));
        Assert.Contains(before, e => e.Data.Contains(secret, StringComparison.Ordinal));

        (await api.DeleteConversationAsync(id)).Expect(HttpStatusCode.NoContent);

        var after = await ServiceFixtureQueries.StoredEventsAsync(fixture.ConnectionString, id, SummaryStream.Id(id));
        // The deletion is appended to the summary stream as well, at the version it erased: a summary stored meanwhile
        // would have made the deletion try again and erase it too.
        (string, long, string) Deleted(string stream) => (stream, before.Where(e => e.Stream == stream).Max(e => e.Version) + 1, "conversation_deleted");
        Assert.Equal(
            before.Select(e => (e.Stream, e.Version, e.Type)).Append(Deleted(id)).Append(Deleted(SummaryStream.Id(id)))
                .OrderBy(e => e.Item1, StringComparer.Ordinal).ThenBy(e => e.Item2),
            after.Select(e => (e.Stream, e.Version, e.Type)));
        Assert.All(after, e => Assert.DoesNotContain(secret, e.Data, StringComparison.Ordinal));
        var turn = JsonNode.Parse(after.First(e => e.Type == "turn_appended").Data)!;
        Assert.Equal(("", 1), (turn["content"]!.GetValue<string>(), turn["index"]!.GetValue<int>()));
        Assert.True(turn["tokens"]!.GetValue<int>() > 0);
    }

    private Task SendAsync(SummarizeConversation command) =>
        SummaryProbe.SendAsync(fixture.Factory, command.ConversationId, command.ThroughIndex, command.Tenant);

    private async Task<List<(int From, int Through)>> WaitForSummariesAsync(string id, int count) =>
        [.. (await SummaryProbe.WaitForSummariesAsync(fixture.ConnectionString, id, count)).Select(s => s.Range)];

    private async Task<List<(int From, int Through)>> WaitUntilCoveredAsync(string id, int through)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var ranges = await SummariesAsync(id);
            if ((ranges.Count > 0 && ranges[^1].Through >= through) || DateTime.UtcNow > deadline)
            {
                return ranges;
            }
            await Task.Delay(100);
        }
    }

    private async Task<List<(int From, int Through)>> SummariesAsync(string id) =>
        [.. (await SummaryProbe.SummariesAsync(fixture.ConnectionString, id)).Select(s => s.Range)];
}
