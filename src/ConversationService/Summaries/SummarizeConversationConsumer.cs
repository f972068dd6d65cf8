using ConversationService.Contracts;
using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Storage;
using Marten;
using MassTransit;
using Microsoft.Extensions.Options;
using StoredConversationSummarized = ConversationService.Summaries.ConversationSummarized;

namespace ConversationService.Summaries;

/// <summary>
/// Folds the turns after the current summary, up to the command's index, into a new summary and appends
/// <see cref="StoredConversationSummarized"/> to the conversation's summary stream. A provisional summary (the
/// extractive stand-in while the LLM failed) is not folded into: the turns after the real summary under it are
/// summarized again, so a real summary replaces it. The summarizer runs first (it may call an LLM for seconds); the
/// append is then optimistic: it stores only if the summary stream is still at the version read before the
/// conversation, so redelivered, duplicated, out-of-order or concurrent commands never store two summaries of a range,
/// and a deletion (which appends to the summary stream too) is never followed by a summary.
/// </summary>
public sealed class SummarizeConversationConsumer(
    IDocumentStore store, GroupCommit commits, ConversationQueries conversations, ISummarizer summarizer,
    ModelTokenizers tokenizers, IOptions<SummariesOptions> options, TimeProvider time) : IConsumer<SummarizeConversation>
{
    public async Task Consume(ConsumeContext<SummarizeConversation> context)
    {
        var (tenant, id, requestedThrough, _) = context.Message;
        var ct = context.CancellationToken;
        // Read first: a summary stored after it makes the append below fail, whatever the conversation read shows.
        var summaryVersion = await SummaryVersionAsync(tenant, id, ct);
        var conversation = await conversations.GetConversationAsync(tenant, id, ct);
        if (conversation is null || !tokenizers.TryResolve(conversation.Model, out var tokenizer))
        {
            return; // deleted (or never existed in this tenant): nothing to summarize
        }
        var foldBase = conversation.Summary?.FoldBase ?? SummaryBase.None;
        var basedOn = foldBase.ThroughIndex;
        var through = Math.Min(requestedThrough, conversation.TurnCount);
        if (through <= basedOn)
        {
            return; // already covered by a newer summary
        }
        var loaded = await conversations.GetTurnsAsync(tenant, id, basedOn, through, through - basedOn, ct);
        if (loaded.Count == 0)
        {
            return;
        }
        var turns = loaded.Take(SummaryDecisions.TakeWithin([.. loaded.Select(t => t.Tokens)], options.Value.MaxInputTokens)).ToArray();

        var result = await summarizer.SummarizeAsync(
            new SummaryRequest(tenant, id, foldBase.Text,
                turns.Select(t => new SummaryTurn(t.Index, t.Role, t.Name, t.Content)).ToArray(),
                options.Value.MaxSummaryTokens, tokenizer.Tokenizer),
            ct);
        var summarized = new StoredConversationSummarized(
            basedOn + 1, turns[^1].Index, result.Text, tokenizer.Tokenizer.CountTokens(result.Text), tokenizer.Encoding,
            result.Model, result.Usage, result.CostUsd, time.GetUtcNow(), result.Provisional, result.Truncated,
            result.Provisional ? foldBase : null);
        if (!await commits.AppendAsync(new StreamAppend(tenant, SummaryStream.Id(id), summaryVersion, [summarized]), ct))
        {
            return; // deleted, or another instance stored a summary: a later command continues from it
        }
        if (summarized.ThroughIndex < through)
        {
            // The rest of a backlog larger than one call: continue from the summary just stored.
            var self = await context.GetSendEndpoint(context.ReceiveContext.InputAddress);
            await self.Send(context.Message, ct);
        }
    }

    private async Task<long> SummaryVersionAsync(string tenant, string id, CancellationToken ct)
    {
        await using var session = store.QuerySession(tenant);
        return (await session.Events.FetchStreamStateAsync(SummaryStream.Id(id), ct))?.Version ?? 0;
    }
}

/// <summary>
/// Transient failures (database, broker) retry a few times; what still fails lands in the _error queue with the
/// reason in its fault headers. An unavailable LLM has had its retries in the Polly pipeline already.
/// </summary>
public sealed class SummarizeConversationConsumerDefinition : ConsumerDefinition<SummarizeConversationConsumer>
{
    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<SummarizeConversationConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.UseMessageRetry(retry =>
        {
            retry.Ignore<LlmUnavailableException>();
            retry.Intervals(200, 1_000, 5_000);
        });
        // Two commands for one conversation running at once would both summarize from the same base and one
        // answer would be thrown away; within an instance they run one after the other instead.
        consumerConfigurator.Message<SummarizeConversation>(message =>
            message.UsePartitioner(16, context => $"{context.Message.Tenant}/{context.Message.ConversationId}"));
    }
}
