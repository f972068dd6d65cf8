using ConversationService.Cache;
using ConversationService.Context;
using ConversationService.Conversations;
using ConversationService.Embeddings;
using ConversationService.Examples;
using ConversationService.Hosting;
using ConversationService.Knowledge;
using ConversationService.Messaging;
using ConversationService.Operations;
using ConversationService.Storage;
using ConversationService.Summaries;
using ConversationService.Usage;
using JasperFx;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults()
    .AddEventStore()
    .AddConversations()
    .AddContext()
    .AddMessaging()
    .AddSummaries()
    .AddUsage()
    .AddEmbeddings()
    .AddKnowledge()
    .AddExamples()
    .AddCache()
    .AddOperations();

var app = builder.Build();
app.UseServiceDefaults();

// An operations command instead of the service, e.g. `projections rebuild` (README, "Operations").
if (args is [var command, ..] && !command.StartsWith('-'))
{
    if (RebuildGuard.Applies(args) && await RebuildGuard.RunningDaemonAsync(app.Services) is { } refusal)
    {
        await Console.Error.WriteLineAsync(refusal);
        return 1;
    }
    return await app.RunJasperFxCommands(args);
}
await app.RunAsync();
return 0;

public partial class Program;
