using System.Net;
using System.Text.Json.Nodes;
using ConversationService.Client;
using ConversationService.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ConversationService.Tests.Client;

/// <summary>The typed client against the real service: every endpoint, problems as typed exceptions, safe retries.</summary>
[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class ClientTests(ServiceFixture fixture) : IDisposable
{
    private readonly ClientHost _host = new(fixture.Factory, ServiceFixture.TenantAKey);

    private ConversationServiceClient Client => _host.Client;

    [Fact]
    public async Task Given_a_conversation_When_it_is_written_and_read_through_the_client_Then_every_conversation_endpoint_answers()
    {
        var id = ApiClient.NewId();

        var created = await Client.PutConversationAsync(id, new("You are terse.", "gpt-4o", new JsonObject { ["user"] = "u-7" }));
        var one = await Client.AppendTurnAsync(id, new(TurnRoles.User, "Where should I stay in Lisbon?", Name: "Alice"));
        var batch = await Client.AppendTurnsAsync(
            id, [new(TurnRoles.Assistant, "Alfama or Baixa.", "a-1"), new(TurnRoles.User, "Which is quieter at night?")],
            expectedVersion: one.Version);
        var read = await Client.GetConversationAsync(id);
        var page = await Client.GetTurnsAsync(id, after: 0, limit: 2);
        var rest = await Client.GetTurnsAsync(id, after: page.NextAfter);

        Assert.Equal((1L, "gpt-4o", "You are terse.", "u-7"), (created.Version, created.Model, created.SystemPrompt, created.Metadata?["user"]?.GetValue<string>()));
        Assert.StartsWith("t-", Assert.Single(one.Turns).Id, StringComparison.Ordinal);
        Assert.Equal([2, 3], batch.Turns.Select(t => t.Index));
        Assert.Equal("a-1", batch.Turns[0].Id);
        Assert.Equal((batch.Version, 3), (read.Version, read.TurnCount));
        Assert.Equal(["Where should I stay in Lisbon?", "Alfama or Baixa."], page.Turns.Select(t => t.Content));
        Assert.Equal("Alice", page.Turns[0].Name);
        Assert.Equal(["Which is quieter at night?"], rest.Turns.Select(t => t.Content));
        Assert.Null(rest.NextAfter);

        await Client.DeleteConversationAsync(id);

        await Assert.ThrowsAsync<ConversationServiceNotFoundException>(() => Client.GetConversationAsync(id));
    }

    [Fact]
    public async Task Given_turns_When_context_and_tokens_are_asked_for_Then_get_and_post_with_candidates_answer_within_the_budget()
    {
        var id = ApiClient.NewId();
        await Client.AppendTurnsAsync(id, [new(TurnRoles.User, "Do trams run late in Lisbon?")]);

        var window = await Client.GetContextAsync(id, new ContextRequest { Budget = 500, Reserve = 100, Model = "gpt-4o" });
        var withCandidates = await Client.GetContextAsync(id, new ContextRequest
        {
            Budget = 500,
            Query = "late trams",
            Candidates = [new("kb-17", "Tram 28 runs late, until 23:00, from Martim Moniz."), new("kb-42", "The castle opens at 9:00.")],
        });
        var counted = await Client.TokenizeAsync(new("gpt-4o", Messages: [.. window.Messages]));
        var text = await Client.TokenizeAsync(new("gpt-4o", "How many tokens is this?"));

        Assert.Equal(("Do trams run late in Lisbon?", 400), (window.Messages[^1].Content, window.Budget - window.Reserve));
        Assert.Equal(window.Tokens, counted.Tokens);
        Assert.Contains(withCandidates.Sections.Where(s => s.Kind == "knowledge").SelectMany(s => s.Items), i => i.Id == "kb-17");
        Assert.Equal(("o200k_base", 6), (text.Encoding, text.Tokens));
    }

    [Fact]
    public async Task Given_libraries_When_documents_examples_and_usage_are_used_through_the_client_Then_they_round_trip()
    {
        var collection = ApiClient.NewId("col");
        var task = ApiClient.NewId("task");

        var document = await Client.PutDocumentAsync(collection, "lisbon", new("Alfama is quiet after dark.", new JsonObject { ["lang"] = "en" }));
        var documents = await Client.ListDocumentsAsync(collection, limit: 10);
        var example = await Client.PutExampleAsync("ex-" + task, new("Translate: good evening", "Boa noite", task));
        var examples = await Client.ListExamplesAsync(task);
        var usage = await Client.GetUsageAsync(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow, "model");
        var today = DateTimeOffset.UtcNow.Date;
        var dashboard = await Client.GetDashboardDataAsync(today.AddDays(-2), today.AddDays(1));

        Assert.Equal(("lisbon#1", "en"), (Assert.Single(document.Chunks).Id, (await Client.GetDocumentAsync(collection, "lisbon")).Metadata?["lang"]?.GetValue<string>()));
        Assert.Equal(["lisbon"], documents.Documents.Select(d => d.Id));
        Assert.Equal("Boa noite", (await Client.GetExampleAsync(example.Id)).Output);
        Assert.Equal([example.Id], examples.Examples.Select(e => e.Id));
        Assert.Equal("model", usage.GroupBy);
        Assert.NotNull(usage.Cache);
        Assert.Equal([.. Enumerable.Range(-2, 3).Select(d => DateOnly.FromDateTime(today.AddDays(d)))], dashboard.Days.Select(d => d.Date));
        Assert.Contains(dashboard.Operations.Subscriptions, s => s.Name.StartsWith("integration_events", StringComparison.Ordinal));

        await Client.DeleteDocumentAsync(collection, "lisbon");
        await Client.DeleteExampleAsync(example.Id);

        await Assert.ThrowsAsync<ConversationServiceNotFoundException>(() => Client.GetDocumentAsync(collection, "lisbon"));
        await Assert.ThrowsAsync<ConversationServiceNotFoundException>(() => Client.GetExampleAsync(example.Id));
    }

    [Fact]
    public async Task Given_the_response_cache_When_an_answer_is_stored_looked_up_and_deleted_through_the_client_Then_it_hits_then_misses()
    {
        var model = ApiClient.NewId("model");
        CacheMessage[] messages = [new("system", "You answer billing questions."), new("user", "How do I download the March 2026 invoice as a PDF?")];

        var stored = await Client.PutCacheEntryAsync(new(model, "Billing, then Invoices.", messages, TtlSeconds: 600));
        var hit = await Client.LookupCacheAsync(new(model, messages));
        await Client.DeleteCacheEntryAsync(stored.Key);
        var miss = await Client.LookupCacheAsync(new(model, messages));

        Assert.Equal((true, stored.Key, "Billing, then Invoices."), (hit.Hit, hit.Key, hit.Response));
        Assert.True(hit.Similarity >= 0.99 && stored.ExpiresAt > DateTimeOffset.UtcNow.AddMinutes(9));
        Assert.False(miss.Hit);
        await Assert.ThrowsAsync<ConversationServiceNotFoundException>(() => Client.DeleteCacheEntryAsync(stored.Key));
    }

    [Fact]
    public async Task Given_bad_requests_When_the_service_answers_problems_Then_typed_exceptions_carry_the_fields_and_extensions()
    {
        var id = ApiClient.NewId();
        var appended = await Client.AppendTurnAsync(id, new(TurnRoles.User, "Hello there, a long enough question for the budget."));

        var invalid = await Assert.ThrowsAsync<ConversationServiceValidationException>(() => Client.AppendTurnAsync(id, new("robot", "beep")));
        var conflict = await Assert.ThrowsAsync<VersionConflictException>(
            () => Client.AppendTurnAsync(id, new(TurnRoles.User, "again"), expectedVersion: appended.Version - 1));
        var tooSmall = await Assert.ThrowsAsync<BudgetTooSmallException>(() => Client.GetContextAsync(id, new ContextRequest { Budget = 5 }));

        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Contains("role", invalid.Errors.Keys);
        Assert.Equal(appended.Version, conflict.CurrentVersion);
        Assert.True(tooSmall.RequiredTokens > 5, tooSmall.Message);
        Assert.False(invalid.Errors.Count == 0 || string.IsNullOrEmpty(invalid.Message));
    }

    [Fact]
    public async Task Given_a_lost_answer_When_a_turn_is_posted_Then_the_client_retries_it_with_the_same_id_and_it_is_stored_once()
    {
        var losing = new LoseAnswers("/turns", every: 1_000);
        using var host = new ClientHost(fixture.Factory, ServiceFixture.TenantAKey, configure: b => b.AddHttpMessageHandler(() => losing));
        var id = ApiClient.NewId();

        var appended = await host.Client.AppendTurnAsync(id, new(TurnRoles.User, "Stored once, whatever the network did."));

        Assert.Equal((1, 2), (losing.Lost, losing.Seen));
        Assert.Equal([appended.Turns[0].Id], await fixture.StoredTurnIdsAsync(id));
    }

    [Fact]
    public async Task Given_a_cancelled_token_When_any_call_is_made_Then_it_is_cancelled()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Client.GetConversationAsync(ApiClient.NewId(), cancelled.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Client.AppendTurnAsync(ApiClient.NewId(), new(TurnRoles.User, "x"), ct: cancelled.Token));
    }

    [Fact]
    public async Task Given_lost_answers_When_a_get_and_a_conditional_put_are_sent_Then_only_the_get_is_retried()
    {
        var id = ApiClient.NewId();
        var created = await Client.PutConversationAsync(id, new(Model: "gpt-4o"));
        var losing = new LoseAnswers($"/conversations/{id}", every: 2);
        using var host = new ClientHost(fixture.Factory, ServiceFixture.TenantAKey, configure: b => b.AddHttpMessageHandler(() => losing));

        var read = await host.Client.GetConversationAsync(id);
        await Assert.ThrowsAsync<HttpRequestException>(
            () => host.Client.PutConversationAsync(id, new(SystemPrompt: "Be brief."), expectedVersion: created.Version));

        Assert.Equal((2, 3), (losing.Lost, losing.Seen));
        Assert.Equal(created.Version, read.Version);
        Assert.Equal("Be brief.", (await Client.GetConversationAsync(id)).SystemPrompt);
        Assert.False(ConversationServiceClient.IsSafeToRetry(new HttpRequestMessage(HttpMethod.Get, "not-made-by-the-client")));
    }

    [Fact]
    public void Given_options_without_a_key_When_the_client_is_resolved_Then_validation_refuses_them()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        services.AddConversationServiceClient(o => o.BaseAddress = new Uri("http://localhost:5080"));
        using var provider = services.BuildServiceProvider();

        Assert.ThrowsAny<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.GetRequiredService<ConversationServiceClient>());
    }

    public void Dispose() => _host.Dispose();
}
