using System.Net;
using ConversationService.Contracts;
using ConversationService.Messaging;
using ConversationService.Tests.Infrastructure;
using MassTransit;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ConversationService.Tests.Messaging;

[Collection(MessagingCollection.Name)]
public sealed class AppendTurnTests(MessagingFixture fixture)
{
    private string Queue => QueueOf(fixture.Factory);

    [Fact]
    public async Task Given_AppendTurn_commands_on_the_bus_When_consumed_Then_the_turns_are_stored_once_each()
    {
        var id = ApiClient.NewId();
        using var api = fixture.Client();

        await SendAsync(new AppendTurn("tenant-a", id, "t-1", "user", "Hello over the bus"));
        await WaitForTurnsAsync(api, id, 1); // commands are consumed concurrently; this fixes the order
        await SendAsync(new AppendTurn("tenant-a", id, "t-2", "assistant", "Hi!"));
        await SendAsync(new AppendTurn("tenant-a", id, "t-1", "user", "Hello over the bus")); // a redelivery

        var turns = await WaitForTurnsAsync(api, id, 2);
        await Task.Delay(300);
        turns = (await api.GetTurnsAsync(id)).Expect(HttpStatusCode.OK).Body["turns"]!.AsArray()
            .Select(t => (t!["id"]!.GetValue<string>(), t["index"]!.GetValue<int>(), t["content"]!.GetValue<string>())).ToList();
        Assert.Equal([("t-1", 1, "Hello over the bus"), ("t-2", 2, "Hi!")], turns);
        Assert.Equal(2, (await api.GetConversationAsync(id)).Get<int>("turnCount"));
    }

    [Fact]
    public async Task Given_an_invalid_AppendTurn_When_consumed_Then_it_lands_in_the_error_queue_and_nothing_is_stored()
    {
        // A replica with queues of its own, so that its consumer's fault, expected here, stays off the test log.
        await using var replica = fixture.CreateFactory(ExpectedLogs.With(
            new Dictionary<string, string?> { ["Messaging:EndpointPrefix"] = fixture.EndpointPrefix + "invalid-" },
            "MassTransit.ReceiveTransport"));
        var id = ApiClient.NewId();
        using var api = fixture.Client(replica);

        await SendAsync(new AppendTurn("tenant-a", id, "t-1", "wizard", "Abracadabra"), replica);

        var fault = await ErrorQueue.WaitForFaultAsync(QueueOf(replica) + "_error", id);
        Assert.NotNull(fault);
        Assert.True(fault.Contains("role", StringComparison.Ordinal), fault);
        (await api.GetConversationAsync(id)).ExpectProblem(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Given_a_batch_with_an_expected_version_When_consumed_twice_Then_its_turns_are_stored_once_in_order()
    {
        var id = ApiClient.NewId();
        using var api = fixture.Client();
        (await api.AppendTurnAsync(id, "user", "First, over HTTP")).Expect(HttpStatusCode.Created); // version 2
        var batch = new AppendTurn("tenant-a", id, null, null, null, Turns:
        [
            new TurnToAppend("b-1", "assistant", "Second, in a batch"),
            new TurnToAppend(null, "user", "Third, without an id", "Caroline"),
        ], ExpectedVersion: 2);
        var messageId = NewId.NextGuid();

        await SendAsync(batch, messageId: messageId);
        await WaitForTurnsAsync(api, id, 3);
        await SendAsync(batch, messageId: messageId); // a redelivery: the same message, now behind the expected version
        await SendAsync(new AppendTurn("tenant-a", id, "t-4", "assistant", "Fourth"));
        await WaitForTurnsAsync(api, id, 4);
        await Task.Delay(300);

        var turns = (await api.GetTurnsAsync(id)).Expect(HttpStatusCode.OK).Body["turns"]!.AsArray()
            .Select(t => (t!["id"]!.GetValue<string>(), t["index"]!.GetValue<int>(), t["content"]!.GetValue<string>())).ToList();
        Assert.Equal(["Second, in a batch", "Third, without an id", "Fourth"], turns.Skip(1).Select(t => t.Item3));
        Assert.Equal([2, 3, 4], turns.Skip(1).Select(t => t.Item2));
        Assert.Equal(["b-1", $"msg-{messageId:N}-1", "t-4"], turns.Skip(1).Select(t => t.Item1));
    }

    [Theory]
    [InlineData("conflict", "expectedVersion: the conversation is at version 2, not 7")]
    [InlineData("repeated", "turns[1].turnId: Turn id 'x' repeats turns[0].turnId")]
    [InlineData("invalid", "turns[1].")]
    [InlineData("both", "Send either the fields of one turn or turns, not both")]
    public async Task Given_a_batch_that_cannot_be_stored_When_consumed_Then_the_error_queue_says_why_and_nothing_is_stored(
        string kind, string reason)
    {
        await using var replica = fixture.CreateFactory(ExpectedLogs.With(
            new Dictionary<string, string?> { ["Messaging:EndpointPrefix"] = fixture.EndpointPrefix + "batch-" + kind + "-" },
            "MassTransit.ReceiveTransport"));
        var id = ApiClient.NewId();
        using var api = fixture.Client(replica);
        (await api.AppendTurnAsync(id, "user", "Already here")).Expect(HttpStatusCode.Created);
        TurnToAppend[] turns = kind switch
        {
            "repeated" => [new("x", "user", "one"), new("x", "assistant", "two")],
            "invalid" => [new("y", "user", "one"), new("z", "wizard", "two")],
            _ => [new("y", "user", "one"), new("z", "assistant", "two")],
        };
        var command = new AppendTurn("tenant-a", id, kind == "both" ? "w" : null, null, null, Turns: turns,
            ExpectedVersion: kind == "conflict" ? 7 : null);

        await SendAsync(command, replica);

        var fault = await ErrorQueue.WaitForFaultAsync(QueueOf(replica) + "_error", id);
        Assert.NotNull(fault);
        Assert.Contains(reason, fault, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, (await api.GetConversationAsync(id)).Get<int>("turnCount"));
    }

    [Fact]
    public async Task Given_an_AppendTurn_for_another_tenant_When_consumed_Then_it_is_not_visible_to_this_tenant()
    {
        var id = ApiClient.NewId();
        using var tenantA = fixture.Client();
        using var tenantB = fixture.Client(apiKey: ServiceFixture.TenantBKey);

        await SendAsync(new AppendTurn("tenant-b", id, null, "user", "only for b"));

        await WaitForTurnsAsync(tenantB, id, 1);
        (await tenantA.GetConversationAsync(id)).ExpectProblem(HttpStatusCode.NotFound);
    }

    private static string QueueOf(WebApplicationFactory<Program> host) =>
        host.Services.GetRequiredService<IEndpointNameFormatter>().Consumer<AppendTurnConsumer>();

    private async Task SendAsync(AppendTurn command, WebApplicationFactory<Program>? host = null, Guid? messageId = null)
    {
        host ??= fixture.Factory;
        var endpoint = await host.Services.GetRequiredService<IBus>().GetSendEndpoint(new Uri($"queue:{QueueOf(host)}"));
        await endpoint.Send(command, context => context.MessageId = messageId ?? context.MessageId);
    }

    private static async Task<List<(string, int, string)>> WaitForTurnsAsync(ApiClient api, string id, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var reply = await api.GetTurnsAsync(id);
            var turns = reply.Status == HttpStatusCode.OK
                ? reply.Body["turns"]!.AsArray()
                    .Select(t => (t!["id"]!.GetValue<string>(), t["index"]!.GetValue<int>(), t["content"]!.GetValue<string>())).ToList()
                : [];
            if (turns.Count >= count || DateTime.UtcNow > deadline)
            {
                return turns;
            }
            await Task.Delay(100);
        }
    }
}
