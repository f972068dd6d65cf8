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

        // The summary stream's lock serializes instances; the conversation's row, share-locked in the same transaction,
        // keeps a deletion from committing in between. Both on one connection: a second connection taken while holding
        // the conversation's lock would wait for a pool that appends queued on that lock can fill (Postgres:MaxPoolSize),
        // a deadlock until the pool's timeout. No writer takes the two rows in the other order (a deletion erases the
        // summary stream's events, never its row), so they cannot deadlock either.
        await using var session = await store.OpenForWritingAsync(tenant, SummaryStream.Id(id), SummaryStream.Type, ct);
        if (!await IsLiveAsync(session, id, ct))
        {
            return; // disposing rolls back, so no empty stream is left behind
        }
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

    /// <summary>Whether the conversation exists and is not deleted, share-locking its stream row until the session ends.</summary>
    private async Task<bool> IsLiveAsync(EventStore.StreamWriteSession session, string id, CancellationToken ct)
    {
        await using var command = new Npgsql.NpgsqlCommand(
            $"SELECT NOT archived FROM {store.Options.Schema}.streams WHERE tenant_id = $1 AND id = $2 AND type = $3 FOR SHARE",
            session.Connection, session.Transaction);
        command.Parameters.Add(new Npgsql.NpgsqlParameter<string> { TypedValue = session.TenantId });
        command.Parameters.Add(new Npgsql.NpgsqlParameter<string> { TypedValue = id });
        command.Parameters.Add(new Npgsql.NpgsqlParameter<string> { TypedValue = ConversationStream.Type });
        return await command.ExecuteScalarAsync(ct) is true;
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
