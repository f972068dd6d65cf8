using System.Security.Claims;
using System.Text;
using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Summaries;
using ConversationService.Tokenizers;
using ConversationService.Usage;
using Microsoft.Extensions.Options;

namespace ConversationService.Context;

/// <summary>GET /conversations/{id}/context: the messages to send to the model, within budget - reserve tokens.</summary>
public static class GetContext
{
    public const int MaxBudget = 2_000_000;

    public sealed record Response(
        string ConversationId, long Version, string Model, string Encoding, int Budget, int Reserve, int Tokens,
        long FullHistoryTokens, IReadOnlyList<ContextMessage> Messages, IReadOnlyList<ContextSection> Sections);

    public static RouteHandlerBuilder MapGetContext(this RouteGroupBuilder group) =>
        group.MapGet("/{id}/context", HandleAsync)
            .WithName("GetContext")
            .WithSummary("A context window that fits budget - reserve tokens, counted exactly in the model's chat format.")
            .WithDescription(
                "System prompt and the newest user turn are mandatory (422 when they cannot fit, the newest user turn "
                + "may be cut at a token boundary); then the newest turns that fit, oldest first. query, examples, "
                + "task and collections are accepted for forward compatibility and not used yet.")
            .Produces<Response>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

    private static async Task<IResult> HandleAsync(
        string id, int? budget, string? model, string? query, int? reserve, int? examples, string? task,
        string? collections, ClaimsPrincipal user, ConversationQueries queries, ModelTokenizers tokenizers,
        IOptions<LimitsOptions> limits, SummaryQueries summaries, ContextUsageLog usage, TimeProvider time, CancellationToken ct)
    {
        var errors = Validate(budget, reserve, query, limits.Value);
        if (errors.Count > 0)
        {
            return Problems.Invalid(errors);
        }
        TiktokenTokenizer? tokenizer = null;
        if (model is not null && !tokenizers.TryResolve(model, out tokenizer))
        {
            return Problems.UnknownModel("model", model);
        }

        var tenant = user.Tenant();
        if (await queries.GetConversationWithTurnHeadersAsync(tenant, id, ct) is not var (conversation, headers))
        {
            return Problems.NotFound(id);
        }
        var targetModel = model ?? conversation.Model;
        if (tokenizer is null && !tokenizers.TryResolve(targetModel, out tokenizer))
        {
            throw new InvalidOperationException($"Conversation model '{targetModel}' has no tokenizer.");
        }
        var costs = await CostsAsync(tenant, id, headers, tokenizer, queries, tokenizers, ct);
        if (costs is null)
        {
            return Problems.NotFound(id); // deleted while reading
        }

        var available = budget!.Value - (reserve ?? 0);
        var systemTokens = ContextAssembly.SystemTokens(conversation.SystemPrompt, tokenizer);
        // The summary is read only when the history does not fit whole, so short conversations cost no extra query.
        var summary = ContextAssembly.ReplyPriming + systemTokens + costs.Sum(c => (long)c.Tokens) <= available
            ? null
            : await summaries.GetAsync(tenant, id, ct);
        var (selection, tooSmall, summaryText) = SummaryContext.Select(available, systemTokens, summary, costs, tokenizer);
        if (selection is null)
        {
            return Results.Problem(
                statusCode: StatusCodes.Status422UnprocessableEntity, title: "Budget too small",
                detail: $"The system prompt and the newest user turn need at least {tooSmall!.RequiredTokens} tokens; "
                    + $"budget - reserve is {tooSmall.AvailableTokens}.",
                extensions: new Dictionary<string, object?> { ["requiredTokens"] = tooSmall.RequiredTokens });
        }
        var contents = await queries.GetContentsAsync(tenant, id, selection.TurnIndexes.ToArray(), ct);
        if (contents.Count != selection.TurnIndexes.Count)
        {
            return Problems.NotFound(id);
        }
        var byIndex = costs.ToDictionary(c => c.Index);
        var chosen = selection.TurnIndexes.Select(i => new TurnContent(byIndex[i], contents[i])).ToArray();
        var window = ContextAssembly.Build(selection, conversation.SystemPrompt, summaryText, chosen, tokenizer);
        var fullHistory = ContextAssembly.ReplyPriming + systemTokens + costs.Sum(c => (long)c.Tokens);
        usage.Record(new ContextServed(tenant, id, targetModel, window.Tokens, fullHistory, time.GetUtcNow()));
        return TypedResults.Ok(new Response(
            id, conversation.Version, targetModel, tokenizer.EncodingName, budget.Value, reserve ?? 0, window.Tokens,
            fullHistory, window.Messages, window.Sections));
    }

    private static List<FieldError> Validate(int? budget, int? reserve, string? query, LimitsOptions limits)
    {
        var errors = new List<FieldError>();
        if (budget is null or < 1 or > MaxBudget)
        {
            errors.Add(new("budget", $"budget is required, between 1 and {MaxBudget}."));
        }
        if (reserve is < 0)
        {
            errors.Add(new("reserve", "reserve must be >= 0."));
        }
        else if (reserve is { } r && budget is { } b && r >= b)
        {
            errors.Add(new("reserve", "reserve must be less than budget."));
        }
        if (query is not null && Encoding.UTF8.GetByteCount(query) > limits.MaxContentBytes)
        {
            errors.Add(new("query", $"query exceeds {limits.MaxContentBytes} bytes."));
        }
        return errors;
    }

    /// <summary>
    /// Turn costs in the target encoding: the counts stored at append when the encoding matches, otherwise
    /// counted from content once and cached. Null when a turn vanished (the conversation was deleted meanwhile).
    /// </summary>
    private static async Task<IReadOnlyList<TurnCost>?> CostsAsync(
        string tenant, string id, IReadOnlyList<TurnHeader> headers, TiktokenTokenizer tokenizer,
        ConversationQueries queries, ModelTokenizers tokenizers, CancellationToken ct)
    {
        var encoding = tokenizer.EncodingName;
        var costs = new TurnCost[headers.Count];
        var missing = new List<int>();
        for (var i = 0; i < headers.Count; i++)
        {
            var h = headers[i];
            if (h.Encoding == encoding)
            {
                costs[i] = new TurnCost(h.Id, h.Index, h.Role, h.Name, h.Tokens);
            }
            else if (tokenizers.TryGetCachedCount(CacheKey(encoding, tenant, id, h.Index), out var cached))
            {
                costs[i] = new TurnCost(h.Id, h.Index, h.Role, h.Name, cached);
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
                var tokens = tokenizer.CountMessageTokens(h.Role, content, h.Name);
                tokenizers.CacheCount(CacheKey(encoding, tenant, id, h.Index), tokens);
                costs[i] = new TurnCost(h.Id, h.Index, h.Role, h.Name, tokens);
            }
        }
        return costs;
    }

    private static (string, string, string, int) CacheKey(string encoding, string tenant, string id, int index) =>
        (encoding, tenant, id, index);
}
