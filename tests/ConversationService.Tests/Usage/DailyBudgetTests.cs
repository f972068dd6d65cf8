using System.Net;
using ConversationService.Tests.Embeddings;
using ConversationService.Tests.Fakes;
using ConversationService.Tests.Infrastructure;
using ConversationService.Tests.Messaging;
using ConversationService.Tests.Summaries;
using Npgsql;

namespace ConversationService.Tests.Usage;

/// <summary>
/// The fake provider for summaries and embeddings, a daily budget of 0.10 USD, and a tenant of this fixture's alone
/// (its spending and alerts are nobody else's), in a database of its own.
/// </summary>
public sealed class DailyBudgetFixture : LlmFixture
{
    public const string TenantKey = "test-key-budget-0123456789";

    public string Tenant { get; } = $"budget-{Guid.NewGuid():N}"[..18];

    // A spent budget is warned about, and a replica whose daemon stands by logs nothing of it.
    protected override IReadOnlyDictionary<string, string?> Settings => ExpectedLogs.With(
        new Dictionary<string, string?>(base.Settings)
        {
            ["Auth:ApiKeys:2:Key"] = TenantKey,
            ["Auth:ApiKeys:2:Tenant"] = Tenant,
            ["Embeddings:Provider"] = "openai",
            ["Llm:DailyBudgetUsd"] = "0.10",
        },
        "ConversationService.Embeddings");
}

[CollectionDefinition(Name)]
public sealed class DailyBudgetCollection : ICollectionFixture<DailyBudgetFixture>
{
    public const string Name = "daily-budget";
}

[Collection(DailyBudgetCollection.Name)]
public sealed class DailyBudgetTests(DailyBudgetFixture fixture)
{
    [Fact]
    public async Task Given_an_embedding_call_that_spends_the_budget_When_more_texts_and_queries_come_Then_both_alerts_are_published_once_and_the_provider_is_not_called_again()
    {
        await using var subscriber = await TestSubscriber.StartAsync(_ => false);
        using var api = fixture.Client(apiKey: DailyBudgetFixture.TenantKey);
        fixture.Llm.Reset();
        // 5M tokens of text-embedding-3-small at 0.02 USD per 1M: the whole budget in one call.
        fixture.Llm.Enqueue(new FakeReply.Answer(PromptTokens: 5_000_000));
        var first = ApiClient.NewId();
        (await api.AppendTurnAsync(first, "user", "Which room is the review in?")).Expect(HttpStatusCode.Created);
        await EmbeddingProbe.WaitUntilIndexedAsync(api, first);

        var second = ApiClient.NewId();
        await SummaryProbe.PostTurnsAsync(api, second, 3);
        await EmbeddingProbe.WaitUntilIndexedAsync(api, second);
        (await api.GetContextAsync(second, "budget=4000&query=where%20is%20the%20review")).Expect(HttpStatusCode.OK);
        // Another replica (a restart looks the same): it knows nothing of the alerts but what is stored.
        using var replica = fixture.Client(fixture.CreateFactory(), DailyBudgetFixture.TenantKey);
        (await replica.GetContextAsync(second, "budget=4000&query=which%20deadline%20holds")).Expect(HttpStatusCode.OK);

        var alerts = await subscriber.WaitForAsync<Contracts.DailyBudgetReached>(a => a.Count(Ours) >= 2, TimeSpan.FromSeconds(20));
        await Task.Delay(1_000);
        // Each level is a stream of its own, so they may arrive in either order; the log's sequence orders them.
        alerts = [.. subscriber.Alerts.Where(Ours).OrderBy(a => a.Sequence)];
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        Assert.Equal([(today, 0.8m, 0.1m), (today, 1.0m, 0.1m)], alerts.Select(a => (a.Day, a.Share, a.SpentUsd)));
        Assert.All(alerts, a => Assert.Equal(0.10m, a.BudgetUsd));
        Assert.Equal(2, await StoredAlertsAsync());
        // One paid call: the first turn's embedding. The later turns stay without a vector, the queries rank lexically.
        Assert.Single(fixture.Llm.EmbeddingRequests);
        Assert.Empty(fixture.Llm.ChatRequests);
    }

    private bool Ours(Contracts.DailyBudgetReached alert) => alert.Tenant == fixture.Tenant;

    private async Task<long> StoredAlertsAsync()
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM conversations.mt_events WHERE tenant_id = $1 AND type = 'daily_budget_reached'", connection);
        command.Parameters.Add(new() { Value = fixture.Tenant });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
