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
/// development split (read from beside the clone, never copied) turn by turn against the fake LLM, whose every
/// answer fills the output cap (the worst case). Each turn should be read about once, plus the running summary.
/// A LoCoMo gate (scripts/eval/run.sh).
/// </summary>
[Collection(LlmCollection.Name)]
[Trait("Category", LocomoData.Category)]
public sealed class LocomoSummaryCostTests(LlmFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Given_the_LoCoMo_split_posted_turn_by_turn_When_summaries_settle_Then_they_cost_at_most_1300_input_and_150_output_tokens_per_1000_ingested()
    {
        fixture.Llm.Reset();
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

        // Summaries run in the background: wait until no call has been added for a few seconds.
        var (calls, input, outputTokens) = (-1L, 0L, 0L);
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(3000);
            var now = await UsageAsync(ids);
            if (now.Calls == calls)
            {
                break;
            }
            (calls, input, outputTokens) = now;
        }
        fixture.Llm.Reset();

        var inputPer1000 = 1000.0 * input / ingested;
        var outputPer1000 = 1000.0 * outputTokens / ingested;
        output.WriteLine($"ingested {ingested} tokens, {calls} LLM calls, {input} input and {outputTokens} output tokens: "
            + $"{inputPer1000:F0} input and {outputPer1000:F0} output per 1,000 ingested");
        Assert.True(calls >= ids.Count, $"only {calls} summary calls for {ids.Count} long conversations");
        Assert.InRange(inputPer1000, 1, 1300);
        Assert.InRange(outputPer1000, 1, 150);
    }

    private async Task<(long Calls, long Input, long Output)> UsageAsync(List<string> ids)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0)
            FROM conversations.llm_calls WHERE tenant_id = 'tenant-a' AND conversation_id = ANY($1)
            """, connection);
        command.Parameters.Add(new() { Value = ids.ToArray() });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }
}
