using ConversationService.Usage;

namespace ConversationService.Summaries;

/// <summary>
/// Turns <see cref="FromIndex"/>..<see cref="ThroughIndex"/> were folded into the rolling <see cref="Summary"/>,
/// which replaces the previous one. <see cref="SummaryTokens"/> is the summary text counted in <see cref="Encoding"/>.
/// </summary>
public sealed record ConversationSummarized(
    int FromIndex, int ThroughIndex, string Summary, int SummaryTokens, string Encoding, string Model,
    LlmUsage Usage, decimal CostUsd, DateTimeOffset SummarizedAt);
