using ConversationService.Contracts;
using ConversationService.Usage;
using MassTransit;
using Microsoft.Extensions.Options;
using StoredConversationSummarized = ConversationService.Summaries.ConversationSummarized;

namespace ConversationService.Summaries;

/// <summary>
/// Folds the turns after the current summary, up to the command's index, into a new summary and appends
/// <see cref="StoredConversationSummarized"/> to the conversation's summary stream (<see cref="SummaryJobs"/>). The
/// summarizer runs first (it may call an LLM for seconds); the append is then optimistic: it stores only if the
/// summary stream is still at the version read before the conversation, so redelivered, duplicated, out-of-order or
/// concurrent commands never store two summaries of a range, and a deletion (which appends to the summary stream too)
/// is never followed by a summary. In batch mode the command only queues the conversation for the next Batch API job
/// (<see cref="SummaryBatches"/>), unless it is marked direct or the conversation's backlog is too large to wait.
/// </summary>
public sealed class SummarizeConversationConsumer(
    SummaryJobs jobs, ISummarizer summarizer, SummaryBatchTable batches, IOptions<SummariesOptions> options,
    IOptions<LlmOptions> llm) : IConsumer<SummarizeConversation>
{
    public async Task Consume(ConsumeContext<SummarizeConversation> context)
    {
        var message = context.Message;
        var ct = context.CancellationToken;
        if (await jobs.PrepareAsync(message.Tenant, message.ConversationId, message.ThroughIndex, ct) is not { } job)
        {
            return; // deleted, never existed in this tenant, or covered by a newer summary
        }
        if (SummaryDecisions.Batch(options.Value, llm.Value.Enabled, message.Direct, job.BacklogTokens))
        {
            await batches.QueueAsync(job.Tenant, job.ConversationId, job.RequestedThrough, ct);
            return;
        }
        var result = await summarizer.SummarizeAsync(job.Request(options.Value.MaxSummaryTokens), ct);
        if (!await jobs.StoreAsync(job, result, ct))
        {
            return; // deleted, or another instance stored a summary: a later command continues from it
        }
        if (job.ThroughIndex < job.RequestedThrough)
        {
            // The rest of a backlog larger than one call: continue from the summary just stored.
            var self = await context.GetSendEndpoint(context.ReceiveContext.InputAddress);
            await self.Send(message, ct);
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

public static class SummaryQueue
{
    /// <summary>The queue of <see cref="SummarizeConversationConsumer"/>, where the trigger and the sweeps send.</summary>
    public static Task<ISendEndpoint> SummaryQueueAsync(this IBus bus, IEndpointNameFormatter endpoints) =>
        bus.GetSendEndpoint(new Uri($"queue:{endpoints.Consumer<SummarizeConversationConsumer>()}"));
}
