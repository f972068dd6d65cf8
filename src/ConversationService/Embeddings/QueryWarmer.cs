using System.Threading.Channels;
using ConversationService.Conversations;

namespace ConversationService.Embeddings;

/// <summary>
/// Embeds the newest user turn of each append as a query, in the background on the replica that stored it, so the
/// context request that follows without a <c>query</c> finds the vector cached (or in flight) instead of running the
/// model. Only with the local model: a provider would be paid for turns no context is asked for. Appends never wait:
/// when the queue is full the oldest waiting turn is dropped (its context request embeds it).
/// </summary>
public sealed class QueryWarmer(EmbeddingStore store) : BackgroundService, IAppendListener
{
    public const int QueueLength = 256;

    private readonly Channel<(string Tenant, string ConversationId, string Text)> _queue =
        Channel.CreateBounded<(string, string, string)>(new BoundedChannelOptions(QueueLength)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });

    public void Appended(string tenant, string conversationId, IReadOnlyList<NewTurn> turns)
    {
        if (store.EmbedsInProcess && turns.LastOrDefault(t => t.Role == "user") is { } newest)
        {
            _queue.Writer.TryWrite((tenant, conversationId, newest.Content));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (tenant, conversationId, text) in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            // A failure is logged (without content) by the store; the context request then tries again.
            await store.EmbedQueryAsync(tenant, conversationId, text, stoppingToken);
        }
    }
}
