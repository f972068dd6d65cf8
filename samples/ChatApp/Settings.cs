using System.Globalization;

namespace ChatApp;

/// <summary>The sample's settings, from environment variables (and <c>--demo N</c>).</summary>
public sealed record Settings(
    Uri ServiceUrl, string ServiceKey, string ConversationId, int ContextWindow, string? OpenAiKey, Uri? OpenAiUrl,
    string ModelName, string? TokenizerModel, int? DemoTurns)
{
    public static Settings FromEnvironment(string[] args)
    {
        static string? Get(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
        var demo = Array.IndexOf(args, "--demo");
        var openAiKey = Get("OPENAI_API_KEY");
        return new Settings(
            new Uri(Get("CS_URL") ?? "http://localhost:5080"),
            Get("CS_KEY") ?? throw new InvalidOperationException("Set CS_KEY to the API key scripts/run.sh prints."),
            Get("CHAT_CONVERSATION") ?? $"chatapp-{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss}",
            int.Parse(Get("CHAT_CONTEXT_WINDOW") ?? "2000", CultureInfo.InvariantCulture),
            openAiKey,
            Get("OPENAI_BASE_URL") is { } url ? new Uri(url) : null,
            Get("OPENAI_MODEL") ?? (openAiKey is null ? LocalChatClient.Name : "gpt-4o-mini"),
            Get("CHAT_TOKENIZER_MODEL"),
            demo >= 0 && demo + 1 < args.Length ? int.Parse(args[demo + 1], CultureInfo.InvariantCulture) : null);
    }
}
