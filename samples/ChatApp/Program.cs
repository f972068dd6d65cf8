using System.ClientModel;
using ChatApp;
using ConversationService.Client;
using ConversationService.Client.Chat;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI;

// A console chat with memory: the model is any OpenAI-compatible endpoint (OPENAI_API_KEY, OPENAI_BASE_URL,
// OPENAI_MODEL), or without a key a local stand-in, so it runs offline. `--demo 50` plays a scripted chat and prints
// what the model received on each turn against the full history.
var settings = Settings.FromEnvironment(args);
var services = new ServiceCollection();
services.AddLogging(l => l.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
services.AddConversationServiceClient(o => (o.BaseAddress, o.ApiKey) = (settings.ServiceUrl, settings.ServiceKey));

// The one line: the budgeted context goes to the model instead of the history, both turns are remembered after it.
services.AddChatClient(Model(settings)).UseConversationMemory(new()
{
    ContextWindow = settings.ContextWindow,
    ReserveTokens = 500,
    Model = settings.TokenizerModel,
});

await using var provider = services.BuildServiceProvider();
var chat = provider.GetRequiredService<IChatClient>();
var options = new ChatOptions { ConversationId = settings.ConversationId };
// The system prompt lives in the conversation (the middleware would create it on the first call without one).
await provider.GetRequiredService<ConversationServiceClient>().PutConversationAsync(
    settings.ConversationId, new ConversationSettings(SystemPrompt: "You are a concise travel assistant. Answer in two sentences."));
Console.WriteLine($"Conversation {settings.ConversationId}, model: {settings.ModelName}, context window {settings.ContextWindow} tokens.");

var lines = settings.DemoTurns is { } turns ? DemoScript.Lines(turns) : ReadLines();
var turn = 0;
foreach (var line in lines)
{
    turn++;
    if (settings.DemoTurns is not null)
    {
        Console.WriteLine($"> {line}");
    }
    var response = await chat.GetResponseAsync([new ChatMessage(ChatRole.User, line)], options);
    Console.WriteLine(response.Text);
    Console.WriteLine(Describe(turn, response.GetConversationMemoryReport()));
}

static IChatClient Model(Settings settings) => settings.OpenAiKey is null
    ? new LocalChatClient()
    : new OpenAI.Chat.ChatClient(settings.ModelName, new ApiKeyCredential(settings.OpenAiKey), new OpenAIClientOptions { Endpoint = settings.OpenAiUrl })
        .AsIChatClient();

static IEnumerable<string> ReadLines()
{
    Console.Write("> ");
    for (var line = Console.ReadLine(); line is not null; line = Console.ReadLine())
    {
        if (line.Trim().Length > 0)
        {
            yield return line;
        }
        Console.Write("> ");
    }
}

static string Describe(int turn, ConversationMemoryReport? report) => report switch
{
    null => "",
    { PassedThrough: true } => $"  [turn {turn}: memory unavailable, the messages passed through]",
    _ => $"  [turn {turn}: the model received {report.PromptTokens:N0} tokens; the full history is {report.FullHistoryTokens:N0} "
        + $"({1 - (double)report.PromptTokens!.Value / report.FullHistoryTokens!.Value:P0} saved): "
        + string.Join(", ", report.Sections.Select(s => $"{s.Kind} {s.Tokens}")) + "]",
};
