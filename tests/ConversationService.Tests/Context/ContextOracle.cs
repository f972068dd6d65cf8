using System.Text.Json.Nodes;
using ConversationService.Tokenizers;

namespace ConversationService.Tests.Context;

/// <summary>The contract's token count of a context reply, recounted from its messages.</summary>
public static class ContextOracle
{
    public static int Tokens(JsonNode reply, string model = "gpt-4o") =>
        ExactTiktokenTokenizer.CreateForModel(model).CountChatTokens(reply["messages"]!.AsArray().Select(m => new ChatMessage(
            m!["role"]!.GetValue<string>(), m["content"]!.GetValue<string>(), m["name"]?.GetValue<string>())));
}
