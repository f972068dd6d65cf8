using System.Net;
using System.Text.Json.Nodes;
using ConversationService.Tests.Fakes;
using ConversationService.Tests.Infrastructure;
using ConversationService.Tokenizers.Tests;
using Npgsql;
using Xunit.Abstractions;

namespace ConversationService.Tests.Summaries;

/// <summary>
/// Issue 4's figure: LLM tokens spent on summaries per 1,000 conversation tokens ingested, replaying the LoCoMo
/// development split turn by turn (<see cref="LocomoReplay"/>). Each turn should be read about once, plus the running
/// summary. A LoCoMo gate (scripts/eval/run.sh).
/// </summary>
[Collection(LlmCollection.Name)]
[Trait("Category", LocomoData.Category)]
public sealed class LocomoSummaryCostTests(LlmFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Given_the_LoCoMo_split_posted_turn_by_turn_When_summaries_settle_Then_they_cost_at_most_1300_input_and_150_output_tokens_per_1000_ingested()
    {
        fixture.Llm.Reset();
        var (ingested, ids, usage) = await LocomoReplay.RunAsync(fixture, TimeSpan.FromSeconds(3));

        output.WriteLine($"direct: {usage.Describe(ingested)}");
        usage.AssertWithinSummaryBudget(ingested, ids.Count);
    }
}

/// <summary>
/// Batch mode's figure for issue 19, the same replay as <see cref="LocomoSummaryCostTests"/> on an instance in batch
/// mode (jobs every second, the fake answering each after half a second): the same summary work at half the price, and
/// the delay a summary waits for its job. A LoCoMo gate (scripts/eval/run.sh).
/// </summary>
[Collection(BatchLlmCollection.Name)]
[Trait("Category", LocomoData.Category)]
public sealed class LocomoBatchCostTests(BatchLlmFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Given_the_LoCoMo_split_in_batch_mode_When_summaries_settle_Then_every_one_came_from_a_job_at_half_the_price()
    {
        fixture.Llm.Reset();
        fixture.Llm.BatchDelay = TimeSpan.FromMilliseconds(500);

        var (ingested, ids, usage) = await LocomoReplay.RunAsync(fixture, TimeSpan.FromSeconds(5));

        output.WriteLine($"batch: {usage.Describe(ingested)}");
        usage.AssertWithinSummaryBudget(ingested, ids.Count);
        Assert.Equal(usage.Calls, usage.BatchCalls);
        // gpt-4.1-nano: 0.10 input and 0.40 output per 1M tokens, halved.
        Assert.Equal((usage.Input * 0.10m + usage.Output * 0.40m) / 1_000_000m / 2, usage.CostUsd);
        Assert.InRange(usage.MaxLatency, TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(30));
    }
}

public sealed class BatchLlmFixture : LlmFixture
{
    // Nothing runs directly for its backlog, so that every summary shows the batch path.
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Summaries:Mode"] = "Batch",
        ["Summaries:Batch:Interval"] = "00:00:01",
        ["Summaries:Batch:MaxBacklogTokens"] = "10000000",
    };
}

[CollectionDefinition(Name)]
public sealed class BatchLlmCollection : ICollectionFixture<BatchLlmFixture>
{
    public const string Name = "llm-batch";
}

/// <summary>Summary calls of the replayed conversations, as the call log holds them.</summary>
public sealed record ReplayUsage(long Calls, long BatchCalls, long Input, long Output, decimal CostUsd, TimeSpan AverageLatency, TimeSpan MaxLatency)
{
    public double InputPer1000(long ingested) => 1000.0 * Input / ingested;

    public double OutputPer1000(long ingested) => 1000.0 * Output / ingested;

    /// <summary>Issue 4's bounds: at least one call per long conversation, at most 1,300 input and 150 output tokens per 1,000 ingested.</summary>
    public void AssertWithinSummaryBudget(long ingested, int conversations)
    {
        Assert.True(Calls >= conversations, $"only {Calls} summary calls for {conversations} long conversations");
        Assert.InRange(InputPer1000(ingested), 1, 1300);
        Assert.InRange(OutputPer1000(ingested), 1, 150);
    }

    public string Describe(long ingested) =>
        $"ingested {ingested} tokens, {Calls} LLM calls ({BatchCalls} in batch jobs), {Input} input and {Output} output tokens: "
        + $"{InputPer1000(ingested):F0} input and {OutputPer1000(ingested):F0} output per 1,000 ingested; "
        + $"cost ${CostUsd:F6} (${1000 * CostUsd / ingested:F8} per 1,000 ingested); "
        + $"summary wait from request to answer avg {AverageLatency.TotalSeconds:F2} s, max {MaxLatency.TotalSeconds:F2} s";
}

/// <summary>
/// Posts the LoCoMo development split (read from beside the clone, never copied) turn by turn to the fixture's instance,
/// against the fake LLM whose every answer fills the output cap (the worst case), and waits until no summary call was
/// added for <c>settle</c>.
/// </summary>
public static class LocomoReplay
{
    public static async Task<(long Ingested, List<string> Ids, ReplayUsage Usage)> RunAsync(LlmFixture fixture, TimeSpan settle)
    {
        fixture.Llm.Default = new FakeReply.Answer(string.Join(" ", Enumerable.Repeat("fact", 200)));
        using var api = fixture.Client();
        long ingested = 0;
        var ids = new List<string>();
        foreach (var file in Directory.GetFiles(LocomoData.Directory(), "conv-*.json").Order())
        {
            var doc = JsonNode.Parse(await File.ReadAllTextAsync(file))!;
            var speakerA = doc["speaker_a"]!.GetValue<string>();
            var id = ApiClient.NewId();
            ids.Add(id);
            for (var s = 1; doc[$"session_{s}"] is JsonArray session; s++)
            {
                foreach (var turn in session)
                {
                    var speaker = turn!["speaker"]!.GetValue<string>();
                    var text = turn["text"]!.GetValue<string>();
                    if (turn["blip_caption"] is { } caption)
                    {
                        text += " [shares a photo: " + caption.GetValue<string>() + "]";
                    }
                    var reply = (await api.AppendAsync(id, new
                    {
                        id = turn["dia_id"]!.GetValue<string>(),
                        role = speaker == speakerA ? "user" : "assistant",
                        name = speaker.Replace(' ', '_'),
                        content = text,
                    })).Expect(HttpStatusCode.Created);
                    ingested += reply.Body["turns"]![0]!["tokens"]!.GetValue<int>();
                }
            }
        }

        // Summaries run in the background: wait until no call has been added for a while.
        var usage = new ReplayUsage(-1, 0, 0, 0, 0, TimeSpan.Zero, TimeSpan.Zero);
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(settle);
            var now = await UsageAsync(fixture.ConnectionString, ids);
            if (now.Calls == usage.Calls)
            {
                break;
            }
            usage = now;
        }
        fixture.Llm.Reset();
        return (ingested, ids, usage);
    }

    private static async Task<ReplayUsage> UsageAsync(string connectionString, List<string> ids)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT count(*), count(*) FILTER (WHERE call_type = 'summary_batch'), coalesce(sum(input_tokens), 0),
                   coalesce(sum(output_tokens), 0), coalesce(sum(cost_usd), 0), coalesce(avg(latency_ms), 0)::float8,
                   coalesce(max(latency_ms), 0)
            FROM conversations.llm_calls WHERE tenant_id = 'tenant-a' AND conversation_id = ANY($1)
            """, connection);
        command.Parameters.Add(new() { Value = ids.ToArray() });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new ReplayUsage(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetDecimal(4),
            TimeSpan.FromMilliseconds(reader.GetDouble(5)), TimeSpan.FromMilliseconds(reader.GetInt32(6)));
    }
}
