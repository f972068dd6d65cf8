using ConversationService.Tokenizers;
using ConversationService.Contracts;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Summaries;

public sealed record SummaryTurn(int Index, string Role, string? Name, string Content);

/// <summary>Fold <see cref="Turns"/> into <see cref="PreviousSummary"/>, in at most <see cref="MaxTokens"/> tokens.</summary>
public sealed record SummaryRequest(
    string Tenant, string ConversationId, string? PreviousSummary, IReadOnlyList<SummaryTurn> Turns, int MaxTokens,
    Tokenizer Tokenizer);

public sealed record SummaryResult(string Text, string Model, LlmUsage Usage, decimal CostUsd);

public interface ISummarizer
{
    Task<SummaryResult> SummarizeAsync(SummaryRequest request, CancellationToken cancellationToken);
}
