using ConversationService.Storage;
using ConversationService.Contracts;

namespace ConversationService.Summaries;

/// <summary>The current rolling summary of a conversation (part of its read model).</summary>
public sealed record CurrentSummary(int ThroughIndex, string Text, int Tokens, string Encoding);

/// <summary>
/// Turns <see cref="FromIndex"/>..<see cref="ThroughIndex"/> were folded into the rolling <see cref="Summary"/>,
/// which replaces the previous one. <see cref="SummaryTokens"/> is the summary text counted in <see cref="Encoding"/>.
/// </summary>
public sealed record ConversationSummarized(
    int FromIndex, int ThroughIndex, string Summary, int SummaryTokens, string Encoding, string Model,
    LlmUsage Usage, decimal CostUsd, DateTimeOffset SummarizedAt) : IErasable
{
    /// <summary>The text goes; model, usage and cost stay, as the usage report counts them.</summary>
    public object Erased() => this with { Summary = "" };
}

/// <summary>
/// Summaries live in a stream of their own next to the conversation's: a background summary must not move the
/// conversation's version, which clients use for If-Match. '/' cannot occur in a conversation id, so the two
/// stream ids never collide.
/// </summary>
public static class SummaryStream
{
    private const string Suffix = "/summary";

    public static string Id(string conversationId) => conversationId + Suffix;

    /// <summary>The conversation a stream belongs to: itself, or the conversation a summary stream summarizes.</summary>
    public static string ConversationIdOf(string streamId) =>
        streamId.EndsWith(Suffix, StringComparison.Ordinal) ? streamId[..^Suffix.Length] : streamId;
}
