using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Tokenize;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceOptions()
    .AddProblemHandling()
    .AddApiKeyAuthentication()
    .AddConversations()
    .AddReadinessChecks()
    .AddOpenApiDocument();

var app = builder.Build();
app.UseProblemHandling();
app.UseAuthentication();
app.UseAuthorization();
app.MapOpenApiAndSwagger();
app.MapHealthEndpoints();
app.MapConversations();
app.MapTokenize();
app.Run();

public partial class Program;
