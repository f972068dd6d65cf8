using System.ClientModel;
using System.Diagnostics;
using ConversationService.Client;
using ConversationService.Client.Chat;
using ConversationService.Tests.Fakes;
using ConversationService.Tests.Infrastructure;
using ConversationService.Tokenizers;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI;
using AiMessage = Microsoft.Extensions.AI.ChatMessage;

namespace ConversationService.Tests.Client;

/// <summary>
/// The chat middleware between a chat app and a model (the fake OpenAI-compatible server), with the real service as
/// its memory: what the model receives, what is stored, and what happens when the service is away.
/// </summary>
[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class ConversationMemoryTests(ServiceFixture fixture) : IAsyncLifetime
{
    private const int Window = 1_200;
    private const int Reserve = 200;
    private static readonly ExactTiktokenTokenizer Tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");
    private FakeOpenAiServer _model = null!;

    public async Task InitializeAsync()
    {
        _model = await FakeOpenAiServer.StartAsync();
        _model.Default = new FakeReply.Answer("Noted, I will keep that in mind for later.");
    }

    public async Task DisposeAsync() => await _model.DisposeAsync();

    [Fact]
    public async Task Given_a_100_turn_chat_through_the_middleware_Then_200_turns_are_stored_once_the_prompts_fit_the_budget_exactly_and_turn_3_is_recalled()
    {
        var id = ApiClient.NewId();
        // Every fifth append loses its answer after the service stored the turns: the retry must store nothing twice.
        var losing = new LoseAnswers("/turns", every: 5);
        using var host = new ClientHost(fixture.Factory, ServiceFixture.TenantAKey, configure: b => b.AddHttpMessageHandler(() => losing));
        await host.Client.PutConversationAsync(id, new("You are a helpful assistant with a long memory.", "gpt-4o"));
        using var chat = Chat(host.Services, new() { ConversationId = id, ContextWindow = Window, ReserveTokens = Reserve, Model = "gpt-4o" });
        var reports = new List<ConversationMemoryReport>();

        for (var turn = 1; turn <= 100; turn++)
        {
            var message = new AiMessage(ChatRole.User, UserMessage(turn));
            reports.Add(turn % 2 == 0
                ? (await chat.GetStreamingResponseAsync([message]).ToListAsync())[^1].GetConversationMemoryReport()!
                : (await chat.GetResponseAsync([message])).GetConversationMemoryReport()!);
        }

        var stored = await fixture.StoredTurnIdsAsync(id);
        Assert.Equal(200, stored.Count);
        Assert.Equal(200, stored.Distinct(StringComparer.Ordinal).Count());
        Assert.True(losing.Lost >= 20, $"{losing.Lost} answers lost");
        var turns = await AllTurnsAsync(host.Client, id);
        Assert.Equal(Enumerable.Range(1, 100).SelectMany(t => new[] { UserMessage(t), "Noted, I will keep that in mind for later." }), turns.Select(t => t.Content));
        Assert.All(reports, r => Assert.True(r.Remembered && !r.PassedThrough));

        var requests = _model.ChatRequests;
        Assert.Equal(100, requests.Count);
        for (var i = 0; i < requests.Count; i++)
        {
            var received = Tokenizer.CountChatTokens(Messages(requests[i]));
            Assert.Equal(reports[i].PromptTokens, received);
            Assert.True(received <= Window - Reserve, $"request {i + 1}: {received} tokens > {Window - Reserve}");
            Assert.Equal(UserMessage(i + 1), Messages(requests[i])[^1].Content);
        }
        Assert.True(reports[^1].FullHistoryTokens > 3 * reports[^1].PromptTokens, $"{reports[^1]}");

        // Turn 100 asks about turn 3, long out of the recent window: the model receives it recalled.
        var last = Messages(requests[^1]);
        Assert.Contains(last[..^1], m => m.Content.Contains("locker 4711", StringComparison.Ordinal));
        Assert.Contains(turns[4].Id, reports[^1].Sections.Where(s => s.Kind == "recalled").SelectMany(s => s.Items).Select(i => i.Id));
    }

    [Fact]
    public async Task Given_a_call_When_it_goes_through_the_middleware_Then_the_report_and_the_activity_say_what_it_did_and_knowledge_and_examples_join()
    {
        var id = ApiClient.NewId();
        var collection = ApiClient.NewId("kb");
        using var host = new ClientHost(fixture.Factory, ServiceFixture.TenantAKey);
        await host.Client.PutDocumentAsync(collection, "trams", new("Tram 28 runs until 23:00 and leaves from Martim Moniz."));
        await host.Client.PutExampleAsync(collection + "-ex", new("Until when does the tram 15 run?", "Until 22:00.", collection));
        var activities = new List<Activity>();
        using var listener = Listen(activities);
        using var chat = Chat(host.Services, new() { ContextWindow = Window, ReserveTokens = Reserve, Collections = [collection], Task = collection, Examples = 1 });

        var response = await chat.GetResponseAsync(
            [new AiMessage(ChatRole.System, "Answer briefly."), new AiMessage(ChatRole.User, "Until when does tram 28 run?") { MessageId = "q-1" }],
            new ChatOptions { ConversationId = id });

        var report = response.GetConversationMemoryReport()!;
        var sent = Messages(Assert.Single(_model.ChatRequests));
        Assert.Equal(("system", "Answer briefly."), (sent[0].Role, sent[0].Content));
        Assert.Contains(sent, m => m.Content.Contains("Martim Moniz", StringComparison.Ordinal));
        Assert.Equal(Tokenizer.CountChatTokens(sent), report.PromptTokens);
        Assert.Contains(report.Sections, s => s.Kind == "knowledge");
        Assert.Contains(collection + "-ex", report.Sections.Where(s => s.Kind == "examples").SelectMany(s => s.Items).Select(i => i.Id));
        Assert.Equal(["q-1", "q-1.a1"], await fixture.StoredTurnIdsAsync(id));
        var activity = Assert.Single(activities);
        Assert.Equal(report.PromptTokens, activity.GetTagItem("conversation_memory.prompt_tokens"));
        Assert.Equal(true, activity.GetTagItem("conversation_memory.remembered"));
    }

    [Fact]
    public async Task Given_the_service_is_down_When_the_app_chats_Then_the_messages_pass_through_unchanged_with_a_warning()
    {
        var logs = new LogSink();
        using var down = Unreachable(logs);
        using var chat = Chat(down, new() { ConversationId = ApiClient.NewId() });
        AiMessage[] history = [new(ChatRole.User, "Hi"), new(ChatRole.Assistant, "Hello!"), new(ChatRole.User, "How are you?")];

        var response = await chat.GetResponseAsync(history);

        var report = response.GetConversationMemoryReport()!;
        Assert.True(report.PassedThrough && !report.Remembered);
        Assert.Equal(history.Select(m => m.Text), Messages(Assert.Single(_model.ChatRequests)).Select(m => m.Content));
        Assert.Equal("Noted, I will keep that in mind for later.", response.Text);
        Assert.Equal(2, logs.Entries.Count(e => e.Level == LogLevel.Warning && e.Category.EndsWith(nameof(ConversationMemoryChatClient), StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Given_the_service_is_down_and_pass_through_is_off_When_the_app_chats_Then_the_call_fails()
    {
        using var down = Unreachable();
        using var chat = Chat(down, new() { ConversationId = ApiClient.NewId(), PassThroughWhenUnavailable = false });

        await Assert.ThrowsAsync<HttpRequestException>(() => chat.GetResponseAsync([new AiMessage(ChatRole.User, "Hi")]));
        Assert.Empty(_model.ChatRequests);
    }

    private IChatClient Chat(IServiceProvider services, ConversationMemoryOptions options) =>
        new OpenAI.Chat.ChatClient("gpt-4o", new ApiKeyCredential("test"), new OpenAIClientOptions { Endpoint = new Uri(_model.Endpoint) })
            .AsIChatClient()
            .AsBuilder()
            .UseConversationMemory(options)
            .Build(services);

    /// <summary>Every third turn repeats a topic, so the history has the redundancy of a real chat; turn 3 holds the fact.</summary>
    private static string UserMessage(int turn) => turn switch
    {
        3 => "By the way, my gym bag is in locker 4711 at the sports centre.",
        100 => "Which locker is my gym bag in at the sports centre?",
        _ => $"Turn {turn}: today I read about {Topics[turn % Topics.Length]} and made a note of detail number {turn * 7}.",
    };

    private static readonly string[] Topics =
    [
        "the history of Lisbon trams", "baking sourdough bread", "training for a half marathon", "the rings of Saturn",
        "growing tomatoes on a balcony", "learning the cello", "Portuguese grammar", "saving for a new bicycle",
    ];

    private static List<Tokenizers.ChatMessage> Messages(FakeRequest request) =>
        [.. request.Body["messages"]!.AsArray().Select(m => new Tokenizers.ChatMessage(
            m!["role"]!.GetValue<string>(), m["content"]!.GetValue<string>(), m["name"]?.GetValue<string>()))];

    private static async Task<List<Turn>> AllTurnsAsync(ConversationServiceClient client, string id)
    {
        var turns = new List<Turn>();
        for (int? after = 0; after is not null;)
        {
            var page = await client.GetTurnsAsync(id, after);
            turns.AddRange(page.Turns);
            after = page.NextAfter;
        }
        return turns;
    }

    private static ActivityListener Listen(List<Activity> activities)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ConversationServiceClient.ActivitySource.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Add,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    /// <summary>The client registered for a port nobody listens on: the service is down.</summary>
    private static ServiceProvider Unreachable(LogSink? logs = null)
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();
        services.AddLogging(l => l.AddProvider(logs ?? new LogSink()));
        services.AddConversationServiceClient(o => (o.BaseAddress, o.ApiKey, o.MaxRetries) = (new Uri("http://127.0.0.1:1"), "k", 0));
        return services.BuildServiceProvider();
    }
}
