using System.Net;
using System.Text.Json.Nodes;
using ConversationService.Contracts;
using ConversationService.Summaries;
using ConversationService.Tests.Infrastructure;
using MassTransit;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace ConversationService.Tests.Summaries;

/// <summary>Drives and observes summaries: turns in over HTTP, commands straight to the queue, summaries from the log.</summary>
public static class SummaryProbe
{
    private static readonly string[] People = ["Alice", "Bob", "Carmen", "Dmitri"];

    /// <summary>About 40 tokens, with the names, numbers and questions a summary should keep.</summary>
    public static string Sentence(int i)
    {
        var who = People[i % People.Length];
        return $"On day {i} {who} said the budget review for project P{i} moves to room {100 + i}. "
            + $"{who} will bring the draft numbers and asks whether the deadline of March {i % 28 + 1} still holds?";
    }

    public static async Task PostTurnsAsync(ApiClient api, string id, int count)
    {
        var turns = Enumerable.Range(1, count)
            .Select(i => new { role = i % 2 == 1 ? "user" : "assistant", content = Sentence(i) })
            .ToArray();
        (await api.AppendAsync(id, new { turns })).Expect(HttpStatusCode.Created);
    }

    public static string QueueOf(WebApplicationFactory<Program> instance) =>
        instance.Services.GetRequiredService<IEndpointNameFormatter>().Consumer<SummarizeConversationConsumer>();

    /// <summary>Sends to the summary queue of <paramref name="instance"/>, as its own trigger would.</summary>
    public static async Task SendAsync(WebApplicationFactory<Program> instance, string id, int through, string tenant = "tenant-a")
    {
        var endpoint = await instance.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri($"queue:{QueueOf(instance)}"));
        await endpoint.Send(new SummarizeConversation(tenant, id, through, DateTimeOffset.UtcNow));
    }

    public static async Task<List<StoredSummary>> WaitForSummariesAsync(
        string connectionString, string id, int count, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var summaries = await SummariesAsync(connectionString, id);
            if (summaries.Count >= count || DateTime.UtcNow > deadline)
            {
                return summaries;
            }
            await Task.Delay(100);
        }
    }

    /// <summary>Every ConversationSummarized in the log of the conversation, any tenant, in order.</summary>
    public static async Task<List<StoredSummary>> SummariesAsync(string connectionString, string id)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT data::text FROM conversations.mt_events WHERE stream_id = $1 AND type = 'conversation_summarized' ORDER BY version",
            connection);
        command.Parameters.Add(new() { Value = SummaryStream.Id(id) });
        await using var reader = await command.ExecuteReaderAsync();
        var summaries = new List<StoredSummary>();
        while (await reader.ReadAsync())
        {
            var data = JsonNode.Parse(reader.GetString(0))!;
            summaries.Add(new StoredSummary(
                data["fromIndex"]!.GetValue<int>(), data["throughIndex"]!.GetValue<int>(), data["model"]!.GetValue<string>(),
                data["summary"]!.GetValue<string>(), data["costUsd"]!.GetValue<decimal>(),
                data["provisional"]?.GetValue<bool>() ?? false, data["truncated"]?.GetValue<bool>() ?? false,
                data["batched"]?.GetValue<bool>() ?? false));
        }
        return summaries;
    }
}

public sealed record StoredSummary(
    int From, int Through, string Model, string Text, decimal CostUsd, bool Provisional = false, bool Truncated = false,
    bool Batched = false)
{
    public (int, int) Range => (From, Through);
}
