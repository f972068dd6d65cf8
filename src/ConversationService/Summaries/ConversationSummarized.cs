using ConversationService.Storage;
using ConversationService.Contracts;

namespace ConversationService.Summaries;

/// <summary>
/// The current rolling summary of a conversation (part of its read model). A <see cref="Provisional"/> one stands on
/// <see cref="Base"/>, the last real summary, from which its replacement is folded.
/// </summary>
public sealed record CurrentSummary(
    int ThroughIndex, string Text, int Tokens, string Encoding, bool Provisional = false, SummaryBase? Base = null)
{
    /// <summary>What the next summary folds into: this one, or for a provisional one the real summary under it.</summary>
    public SummaryBase FoldBase => Provisional ? Base ?? SummaryBase.None : new SummaryBase(ThroughIndex, Text);
}

/// <summary>A real summary of turns 1..<see cref="ThroughIndex"/> (none: 0 and no text).</summary>
public sealed record SummaryBase(int ThroughIndex, string? Text)
{
    public static SummaryBase None { get; } = new(0, null);
}

/// <summary>
/// Turns <see cref="FromIndex"/>..<see cref="ThroughIndex"/> were folded into the rolling <see cref="Summary"/>,
/// which replaces the previous one. <see cref="SummaryTokens"/> is the summary text counted in <see cref="Encoding"/>.
/// <see cref="Provisional"/>: the extractive stand-in written while every LLM tier failed; it keeps <see cref="Base"/>
/// (the real summary it folded into) so that a real summary of the same turns replaces it later.
/// <see cref="Truncated"/>: the model hit the output cap twice, and this is what it wrote. <see cref="Batched"/>: written
/// through the Batch API, <see cref="CostUsd"/> at its price.
/// </summary>
public sealed record ConversationSummarized(
    int FromIndex, int ThroughIndex, string Summary, int SummaryTokens, string Encoding, string Model,
    LlmUsage Usage, decimal CostUsd, DateTimeOffset SummarizedAt, bool Provisional = false, bool Truncated = false,
    SummaryBase? Base = null, bool Batched = false) : IErasable
{
    /// <summary>The texts go; model, usage and cost stay, as the usage report counts them.</summary>
    public object Erased() => this with { Summary = "", Base = Base is null ? null : Base with { Text = null } };
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
