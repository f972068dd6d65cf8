using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Storage;
using Marten;
using Microsoft.Extensions.Options;

namespace ConversationService.Summaries;

/// <summary>
/// One summary to write: fold <see cref="Turns"/> into <see cref="FoldBase"/>. <see cref="SummaryVersion"/> is the
/// summary stream's version read before the conversation; the result is stored only if it is still that version.
/// <see cref="BacklogTokens"/>: the tokens of every turn after the fold base through the requested index (more than
/// <see cref="Turns"/> holds when the backlog outgrows one call).
/// </summary>
public sealed record SummaryJob(
    string Tenant, string ConversationId, long SummaryVersion, ModelTokenizer Tokenizer, SummaryBase FoldBase,
    IReadOnlyList<SummaryTurn> Turns, int BacklogTokens, int RequestedThrough)
{
    public int FromIndex => FoldBase.ThroughIndex + 1;

    public int ThroughIndex => Turns[^1].Index;

    public SummaryRequest Request(int maxTokens) =>
        new(Tenant, ConversationId, FoldBase.Text, Turns, maxTokens, Tokenizer.Tokenizer);
}

/// <summary>Reads what a summary needs from the store, and stores a written summary: the I/O around every summarizer.</summary>
public sealed class SummaryJobs(
    IDocumentStore store, GroupCommit commits, ConversationQueries conversations, ModelTokenizers tokenizers,
    IOptions<SummariesOptions> options, TimeProvider time)
{
    /// <summary>
    /// The next summary of the conversation toward <paramref name="requestedThrough"/>: null when it was deleted (or is
    /// not in this tenant) or is summarized that far already. A provisional summary is not folded into: the turns after
    /// the real summary under it are summarized again.
    /// </summary>
    public async Task<SummaryJob?> PrepareAsync(string tenant, string id, int requestedThrough, CancellationToken ct)
    {
        // Read first: a summary stored after it makes the append fail, whatever the conversation read shows.
        var summaryVersion = await SummaryVersionAsync(tenant, id, ct);
        var conversation = await conversations.GetConversationAsync(tenant, id, ct);
        if (conversation is null || !tokenizers.TryResolve(conversation.Model, out var tokenizer))
        {
            return null;
        }
        var foldBase = conversation.Summary?.FoldBase ?? SummaryBase.None;
        var basedOn = foldBase.ThroughIndex;
        var through = Math.Min(requestedThrough, conversation.TurnCount);
        if (through <= basedOn)
        {
            return null;
        }
        var loaded = await conversations.GetTurnsAsync(tenant, id, basedOn, through, through - basedOn, ct);
        if (loaded.Count == 0)
        {
            return null;
        }
        var turns = loaded.Take(SummaryDecisions.TakeWithin([.. loaded.Select(t => t.Tokens)], options.Value.MaxInputTokens))
            .Select(t => new SummaryTurn(t.Index, t.Role, t.Name, t.Content))
            .ToArray();
        return new SummaryJob(tenant, id, summaryVersion, tokenizer, foldBase, turns, loaded.Sum(t => t.Tokens), through);
    }

    /// <summary>
    /// Appends the summary if the summary stream is still at the job's version; false when the conversation was
    /// deleted or another summary was stored first (a later command continues from that one).
    /// </summary>
    public Task<bool> StoreAsync(SummaryJob job, SummaryResult result, CancellationToken ct)
    {
        var summarized = new ConversationSummarized(
            job.FromIndex, job.ThroughIndex, result.Text, job.Tokenizer.Tokenizer.CountTokens(result.Text), job.Tokenizer.Encoding,
            result.Model, result.Usage, result.CostUsd, time.GetUtcNow(), result.Provisional, result.Truncated,
            result.Provisional ? job.FoldBase : null, result.Batched);
        return commits.AppendAsync(
            new StreamAppend(job.Tenant, SummaryStream.Id(job.ConversationId), job.SummaryVersion, [summarized]), ct);
    }

    private async Task<long> SummaryVersionAsync(string tenant, string id, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        return (await session.Events.FetchStreamStateAsync(SummaryStream.Id(id), ct))?.Version ?? 0;
    }
}
