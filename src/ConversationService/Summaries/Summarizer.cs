using ConversationService.Tokenizers;
using ConversationService.Contracts;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Summaries;

public sealed record SummaryTurn(int Index, string Role, string? Name, string Content);

/// <summary>Fold <see cref="Turns"/> into <see cref="PreviousSummary"/>, in at most <see cref="MaxTokens"/> tokens.</summary>
public sealed record SummaryRequest(
    string Tenant, string ConversationId, string? PreviousSummary, IReadOnlyList<SummaryTurn> Turns, int MaxTokens,
    Tokenizer Tokenizer);

/// <summary>
/// A summary and what it cost. <see cref="Provisional"/>: the extractive stand-in while every tier failed, to be
/// replaced by a real one; <see cref="Truncated"/>: the model stopped at the output cap even when asked for less;
/// <see cref="Batched"/>: answered by a Batch API job.
/// </summary>
public sealed record SummaryResult(
    string Text, string Model, LlmUsage Usage, decimal CostUsd, bool Provisional = false, bool Truncated = false,
    bool Batched = false);

public interface ISummarizer
{
    Task<SummaryResult> SummarizeAsync(SummaryRequest request, CancellationToken cancellationToken);
}
