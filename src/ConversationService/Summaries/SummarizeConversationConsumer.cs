using ConversationService.Contracts;
using ConversationService.Conversations;
using ConversationService.Hosting;
using MassTransit;
using Microsoft.Extensions.Options;
using StoredConversationSummarized = ConversationService.Summaries.ConversationSummarized;

namespace ConversationService.Summaries;

/// <summary>
/// Folds the turns after the current summary, up to the command's index, into a new summary and appends
/// <see cref="StoredConversationSummarized"/> to the conversation's summary stream. The summarizer runs outside any lock (it may call an LLM for
/// seconds); the append then re-reads the summary under the stream lock and stores only if nothing was stored
/// meanwhile, so redelivered, duplicated, out-of-order or concurrent commands never store two summaries of a range.
/// </summary>
public sealed class SummarizeConversationConsumer(
    EventStore.EventStore store, ConversationQueries conversations, SummaryQueries summaries, ISummarizer summarizer,
    ModelTokenizers tokenizers, IOptions<SummariesOptions> options, TimeProvider time) : IConsumer<SummarizeConversation>
{
    public async Task Consume(ConsumeContext<SummarizeConversation> context)
    {
        var (tenant, id, requestedThrough, _) = context.Message;
        var ct = context.CancellationToken;
        var conversation = await conversations.GetConversationAsync(tenant, id, ct);
        if (conversation is null || !tokenizers.TryResolve(conversation.Model, out var tokenizer))
        {
            return; // deleted (or never existed in this tenant): nothing to summarize
        }
        var current = await summaries.GetAsync(tenant, id, ct);
        var basedOn = current?.ThroughIndex ?? 0;
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
            new SummaryRequest(tenant, id, current?.Text,
                turns.Select(t => new SummaryTurn(t.Index, t.Role, t.Name, t.Content)).ToArray(),
                options.Value.MaxSummaryTokens, tokenizer),
            ct);
        var summarized = new StoredConversationSummarized(
            basedOn + 1, turns[^1].Index, result.Text, tokenizer.CountTokens(result.Text), tokenizer.EncodingName,
            result.Model, result.Usage, result.CostUsd, time.GetUtcNow());

        // The conversation's lock, held without writing, keeps a deletion from committing in between; the summary
        // stream's lock serializes instances. Always in this order, so they cannot deadlock.
        await using var conversationLock = await store.OpenForWritingAsync(tenant, id, ConversationStream.Type, ct);
        if (conversationLock.IsNew || conversationLock.IsArchived)
        {
            return; // disposing rolls back, so no empty stream is left behind
        }
        await using var session = await store.OpenForWritingAsync(tenant, SummaryStream.Id(id), SummaryStream.Type, ct);
        var latest = await summaries.GetAsync(session.Connection, session.Transaction, tenant, id, ct);
        if (!SummaryDecisions.MayStore(basedOn, latest?.ThroughIndex ?? 0))
        {
            return; // another instance stored a summary meanwhile; a later command continues from it
        }
        await session.AppendAndCommitAsync([summarized], session.Version, ct);
        if (summarized.ThroughIndex < through)
        {
            // The rest of a backlog larger than one call: continue from the summary just stored.
            var self = await context.GetSendEndpoint(context.ReceiveContext.InputAddress);
            await self.Send(context.Message, ct);
        }
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
