using ConversationService.Conversations;
using ConversationService.Embeddings;
using ConversationService.Hosting;
using ConversationService.Messaging;
using ConversationService.Summaries;
using ConversationService.Tokenize;
using ConversationService.Usage;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceOptions()
    .AddProblemHandling()
    .AddApiKeyAuthentication()
    .AddConversations()
    .AddReadinessChecks()
    .AddMessaging()
    .AddSummaries()
    .AddEmbeddings()
    .AddOpenApiDocument();

var app = builder.Build();
app.UseProblemHandling();
app.UseAuthentication();
app.UseAuthorization();
app.MapOpenApiAndSwagger();
app.MapHealthEndpoints();
app.MapConversations();
app.MapTokenize();
app.MapUsage();
app.Run();

public partial class Program;
