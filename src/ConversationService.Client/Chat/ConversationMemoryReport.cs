using Microsoft.Extensions.AI;

namespace ConversationService.Client.Chat;

/// <summary>
/// What the middleware did for one call, in the response's <c>AdditionalProperties</c> (streaming: in the last update's)
/// under <see cref="Key"/>. <see cref="PromptTokens"/> is what the model received, <see cref="FullHistoryTokens"/>
/// what the whole conversation with the new messages would have cost; both are null when it passed through.
/// </summary>
public sealed record ConversationMemoryReport(
    string ConversationId, int? PromptTokens, long? FullHistoryTokens, IReadOnlyList<ContextSection> Sections,
    bool PassedThrough, bool Remembered)
{
    public const string Key = "conversationMemory";
}

public static class ConversationMemoryReportExtensions
{
    public static ConversationMemoryReport? GetConversationMemoryReport(this ChatResponse response) => Find(response.AdditionalProperties);

    public static ConversationMemoryReport? GetConversationMemoryReport(this ChatResponseUpdate update) => Find(update.AdditionalProperties);

    private static ConversationMemoryReport? Find(AdditionalPropertiesDictionary? properties) =>
        properties?.TryGetValue(ConversationMemoryReport.Key, out var value) == true ? value as ConversationMemoryReport : null;
}
