using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Tokenizers;
using ConversationService.Usage;

namespace ConversationService.Context.GetContext;

/// <summary>
/// Answers a context request: replays a kept answer while the conversation is unchanged, otherwise reads the sources
/// (conversation, turn costs, index, material), assembles the window (<see cref="ContextAssembly"/>) and keeps it.
/// </summary>
public sealed class ContextAnswers(
    ConversationQueries queries, ConversationIndexCache indexes, ModelTokenizers tokenizers, ContextMaterial material,
    ContextUsageLog usage, ContextResponseCache responses, ContextMetrics metrics, TimeProvider time)
{
    public async Task<IResult> AnswerAsync(
        string tenant, Request request, IReadOnlyList<KnowledgeItem> candidates, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var result = await AnswerUnmeasuredAsync(tenant, request, candidates, ct);
        metrics.Answered(tenant, result is ContextReply, time.GetElapsedTime(started));
        return result;
    }

    private async Task<IResult> AnswerUnmeasuredAsync(
        string tenant, Request request, IReadOnlyList<KnowledgeItem> candidates, CancellationToken ct)
    {
        var id = request.ConversationId;
        ModelTokenizer? tokenizer = null;
        if (request.Model is { } model)
        {
            tokenizers.TryResolveRequested(model, out tokenizer); // a known model: the validator checked it
        }
        var key = ContextResponseCache.IsCacheable(request, candidates) ? new ContextResponseCache.Key(tenant, request.Parameters()) : null;
        if (key is not null && await responses.GetAsync(key, ct) is { } replay)
        {
            Served(new ContextServed(
                tenant, id, replay.Model, replay.Tokens, replay.FullHistoryTokens, replay.Sections, time.GetUtcNow()));
            return new ContextReply(replay);
        }
        // Reading the sources and the material (the query's vector, knowledge, examples), then packing the window.
        using var retrieve = Telemetry.Source.StartActivity("context.retrieve");
        if (await queries.GetContextSourcesAsync(tenant, id, ct) is not var (conversation, headers, storedSummary))
        {
            return Problems.NotFound(id);
        }
        var targetModel = request.Model ?? conversation.Model;
        if (tokenizer is null && !tokenizers.TryResolve(targetModel, out tokenizer))
        {
            throw new InvalidOperationException($"Conversation model '{targetModel}' has no tokenizer.");
        }
        var costs = await CostsAsync(tenant, id, headers, tokenizer, ct);
        var index = costs is null ? null : await indexes.GetAsync(tenant, conversation, headers, ct);
        if (costs is null || index is null)
        {
            return Problems.NotFound(id); // deleted while reading
        }

        var (budget, reserve) = (request.Budget!.Value, request.Reserve ?? 0);
        var available = budget - reserve;
        var systemTokens = ContextAssembly.SystemTokens(conversation.SystemPrompt, tokenizer.Tokenizer);
        var fullHistory = ContextAssembly.ReplyPriming + systemTokens + costs.Sum(c => (long)c);
        var summary = fullHistory <= available ? null : storedSummary;
        var queryText = request.Query ?? index.Turns.LastOrDefault(t => t.Role == "user")?.Content;
        var (queryVector, knowledge, examples, fusion) = await material.ReadAsync(tenant, request, queryText, candidates, ct);
        var input = new ContextInput(
            available, conversation.SystemPrompt, summary is null ? null : new SummaryInput(summary.Text, summary.ThroughIndex),
            index, costs, queryText, queryVector, knowledge, examples, request.Examples ?? 0, request.Shares(), fusion);
        retrieve?.Stop();
        var (window, tooSmall) = Pack(input, tokenizer);
        if (window is null)
        {
            return Results.Problem(
                statusCode: StatusCodes.Status422UnprocessableEntity, title: "Budget too small",
                detail: $"The system prompt and the newest user turn need at least {tooSmall!.RequiredTokens} tokens; "
                    + $"budget - reserve is {tooSmall.AvailableTokens}.",
                extensions: new Dictionary<string, object?> { ["requiredTokens"] = tooSmall.RequiredTokens });
        }
        var answer = ContextAnswer.Of(
            new Response(id, conversation.Version, targetModel, tokenizer.Encoding, budget, reserve, window.Tokens,
                fullHistory, window.Messages, window.Sections),
            fullHistory, responses.Json);
        Served(new ContextServed(tenant, id, targetModel, window.Tokens, fullHistory, answer.Sections, time.GetUtcNow()));
        // An answer ranked without some vectors (the indexer is behind, or the query could not be embedded) would
        // change once they arrive, with the same stamp: it is served but not kept.
        if (key is not null && index.HasAllVectors && (queryVector is not null || string.IsNullOrWhiteSpace(queryText)))
        {
            responses.Put(key, new ContextStamp(conversation.Version, storedSummary?.ThroughIndex ?? 0), answer);
        }
        return new ContextReply(answer);
    }

    private static (ContextWindow? Window, ContextTooSmall? TooSmall) Pack(ContextInput input, ModelTokenizer tokenizer)
    {
        using var pack = Telemetry.Source.StartActivity("context.pack");
        return ContextAssembly.Assemble(input, tokenizer.Tokenizer);
    }

    private void Served(ContextServed served)
    {
        usage.Record(served);
        metrics.Served(served);
    }

    /// <summary>
    /// Turn costs in the target encoding: the counts stored at append when the encoding matches, otherwise
    /// counted from content once and cached. Null when a turn vanished (the conversation was deleted meanwhile).
    /// </summary>
    private async Task<int[]?> CostsAsync(
        string tenant, string id, IReadOnlyList<TurnHeader> headers, ModelTokenizer tokenizer, CancellationToken ct)
    {
        var encoding = tokenizer.Encoding;
        var costs = new int[headers.Count];
        var missing = new List<int>();
        for (var i = 0; i < headers.Count; i++)
        {
            var h = headers[i];
            if (h.Encoding == encoding)
            {
                costs[i] = h.Tokens;
            }
            else if (tokenizers.TryGetCachedCount((encoding, tenant, id, h.Index), out var cached))
            {
                costs[i] = cached;
            }
            else
            {
                missing.Add(i);
            }
        }
        if (missing.Count > 0)
        {
            var contents = await queries.GetContentsAsync(tenant, id, missing.Select(i => headers[i].Index).ToArray(), ct);
            foreach (var i in missing)
            {
                var h = headers[i];
                if (!contents.TryGetValue(h.Index, out var content))
                {
                    return null;
                }
                var tokens = tokenizer.Tokenizer.CountMessageTokens(h.Role, content, h.Name);
                tokenizers.CacheCount((encoding, tenant, id, h.Index), tokens);
                costs[i] = tokens;
            }
        }
        return costs;
    }
}
