using ConversationService.Conversations;
using ConversationService.Embeddings;
using ConversationService.Examples;
using ConversationService.Hosting;
using ConversationService.Knowledge;
using ConversationService.Messaging;
using ConversationService.Storage;
using ConversationService.Summaries;
using ConversationService.Tokenize;
using ConversationService.Usage;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceOptions()
    .AddEventStore()
    .AddProblemHandling()
    .AddOverloadProtection()
    .AddApiKeyAuthentication()
    .AddConversations()
    .AddReadinessChecks()
    .AddMessaging()
    .AddSummaries()
    .AddEmbeddings()
    .AddKnowledge()
    .AddExamples()
    .AddOpenApiDocument();

var app = builder.Build();
app.UseProblemHandling();
app.UseAuthentication();
app.UseAuthorization();
app.UseOverloadProtection();
app.MapOpenApiAndSwagger();
app.MapHealthEndpoints();
app.MapConversations();
app.MapTokenize();
app.MapUsage();
app.MapKnowledge();
app.MapExamples();
app.Run();

public partial class Program;
