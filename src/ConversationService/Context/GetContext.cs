using System.Globalization;
using System.Security.Claims;
using System.Text;
using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Examples;
using ConversationService.Knowledge;
using ConversationService.Summaries;
using ConversationService.Tokenizers;
using ConversationService.Usage;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace ConversationService.Context;

/// <summary>What a context request asks for, from the query string (GET) or the body (POST).</summary>
public sealed record ContextParameters(
    int? Budget, string? Model, string? Query, int? Reserve, int? Examples, string? Task, string? Collections,
    double? RecentShare, double? SummaryShare, double? KnowledgeShare, double? ExamplesShare);

/// <summary>GET /conversations/{id}/context: the messages to send to the model, within budget - reserve tokens.</summary>
public static class GetContext
{
    public const int MaxBudget = 2_000_000;
    public const int MaxExamples = 20;
    public const int MaxCollections = 10;

    public sealed record Response(
        string ConversationId, long Version, string Model, string Encoding, int Budget, int Reserve, int Tokens,
        long FullHistoryTokens, IReadOnlyList<ContextMessage> Messages, IReadOnlyList<ContextSection> Sections);

    public const string Description =
        "Order: system prompt, rolling summary, recent turns oldest first, one message with the query-relevant "
        + "material (recalled older turns under their dates, knowledge chunks, examples), then the newest user turn. "
        + "System prompt and newest user turn are mandatory (422 when they cannot fit; the newest user turn may be cut "
        + "at a token boundary). The query is `query` or else the newest user turn. Shares (0..1 of what the mandatory "
        + "parts leave) cap each section: recentShare 0.10, summaryShare 0.25, knowledgeShare 0.30, examplesShare 0.20; "
        + "recalled turns take the rest. Material below the relevance threshold is left out even when budget remains. "
        + "The ETag covers the answer's bytes; a GET with a matching If-None-Match gets 304.";

    public static RouteHandlerBuilder MapGetContext(this RouteGroupBuilder group) =>
        group.MapGet("/{id}/context", HandleGetAsync)
            .WithName("GetContext")
            .WithSummary("A context window that fits budget - reserve tokens, counted exactly in the model's chat format.")
            .WithDescription(Description)
            .Produces<Response>()
            .Produces(StatusCodes.Status304NotModified)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

    private static Task<IResult> HandleGetAsync(
        string id, int? budget, string? model, string? query, int? reserve, int? examples, string? task,
        string? collections, double? recentShare, double? summaryShare, double? knowledgeShare, double? examplesShare,
        ClaimsPrincipal user, [AsParameters] ContextServices services, CancellationToken ct) =>
        HandleAsync(id, new ContextParameters(budget, model, query, reserve, examples, task, collections, recentShare,
            summaryShare, knowledgeShare, examplesShare), [], user, services, ct);

    public static async Task<IResult> HandleAsync(
        string id, ContextParameters parameters, IReadOnlyList<KnowledgeItem> candidates, ClaimsPrincipal user,
        ContextServices services, CancellationToken ct)
    {
        var errors = Validate(parameters, services.Limits.Value);
        if (errors.Count > 0)
        {
            return Problems.Invalid(errors);
        }
        ModelTokenizer? tokenizer = null;
        if (parameters.Model is { } model && !services.Tokenizers.TryResolveRequested(model, out tokenizer))
        {
            return Problems.UnknownModel("model", model);
        }

        var tenant = user.Tenant();
        var key = ContextResponseCache.IsCacheable(parameters, candidates) ? new ContextResponseCache.Key(tenant, id, parameters) : null;
        if (key is not null && await services.Responses.GetAsync(key, ct) is { } replay)
        {
            services.Usage.Record(new ContextServed(
                tenant, id, replay.Model, replay.Tokens, replay.FullHistoryTokens, services.Time.GetUtcNow()));
            return new ContextReply(replay);
        }
        if (await services.Queries.GetContextSourcesAsync(tenant, id, ct) is not var (conversation, headers, storedSummary))
        {
            return Problems.NotFound(id);
        }
        var targetModel = parameters.Model ?? conversation.Model;
        if (tokenizer is null && !services.Tokenizers.TryResolve(targetModel, out tokenizer))
        {
            throw new InvalidOperationException($"Conversation model '{targetModel}' has no tokenizer.");
        }
        var costs = await CostsAsync(tenant, id, headers, tokenizer, services.Queries, services.Tokenizers, ct);
        var index = costs is null ? null : await services.Indexes.GetAsync(tenant, conversation, headers, ct);
        if (costs is null || index is null)
        {
            return Problems.NotFound(id); // deleted while reading
        }

        var budget = parameters.Budget!.Value;
        var reserve = parameters.Reserve ?? 0;
        var available = budget - reserve;
        var systemTokens = ContextAssembly.SystemTokens(conversation.SystemPrompt, tokenizer.Tokenizer);
        var fullHistory = ContextAssembly.ReplyPriming + systemTokens + costs.Sum(c => (long)c);
        var summary = fullHistory <= available ? null : storedSummary;
        var queryText = parameters.Query ?? index.Turns.LastOrDefault(t => t.Role == "user")?.Content;
        var queryVector = await services.Vectors.QueryAsync(tenant, id, queryText, ct);
        var knowledge = await KnowledgeAsync(tenant, parameters.Collections, candidates, services, ct);
        var examples = await ExamplesAsync(tenant, parameters, services, ct);
        var defaults = ContextShares.Default;
        var input = new ContextInput(
            available, conversation.SystemPrompt, summary is null ? null : new SummaryInput(summary.Text, summary.ThroughIndex),
            index, costs, queryText, queryVector, knowledge.Items, examples, parameters.Examples ?? 0,
            new ContextShares(parameters.RecentShare ?? defaults.Recent, parameters.SummaryShare ?? defaults.Summary,
                parameters.KnowledgeShare ?? defaults.Knowledge, parameters.ExamplesShare ?? defaults.Examples),
            knowledge.Terms);
        var (window, tooSmall) = ContextAssembly.Assemble(input, tokenizer.Tokenizer);
        if (window is null)
        {
            return Results.Problem(
                statusCode: StatusCodes.Status422UnprocessableEntity, title: "Budget too small",
                detail: $"The system prompt and the newest user turn need at least {tooSmall!.RequiredTokens} tokens; "
                    + $"budget - reserve is {tooSmall.AvailableTokens}.",
                extensions: new Dictionary<string, object?> { ["requiredTokens"] = tooSmall.RequiredTokens });
        }
        services.Usage.Record(new ContextServed(tenant, id, targetModel, window.Tokens, fullHistory, services.Time.GetUtcNow()));
        var answer = ContextAnswer.Of(
            new Response(id, conversation.Version, targetModel, tokenizer.Encoding, budget, reserve, window.Tokens,
                fullHistory, window.Messages, window.Sections),
            fullHistory, services.Responses.Json);
        // An answer ranked without some vectors (the indexer is behind, or the query could not be embedded) would
        // change once they arrive, with the same stamp: it is served but not kept.
        if (key is not null && index.HasAllVectors && (queryVector is not null || string.IsNullOrWhiteSpace(queryText)))
        {
            services.Responses.Put(key, new ContextStamp(conversation.Version, storedSummary?.ThroughIndex ?? 0), answer);
        }
        return new ContextReply(answer);
    }

    /// <summary>The caller's candidates and the chunks of the named collections, with their vectors and terms.</summary>
    private static async Task<KnowledgeSet> KnowledgeAsync(
        string tenant, string? collections, IReadOnlyList<KnowledgeItem> candidates, ContextServices services, CancellationToken ct)
    {
        var given = KnowledgeSet.Of([.. candidates.Select(c => c with { Vector = services.Vectors.ForCandidate(c.Text) })]);
        return collections is null
            ? given
            : KnowledgeSet.Combine([given, await services.Knowledge.GetAsync(tenant, CollectionNames(collections), ct)]);
    }

    private static async Task<IReadOnlyList<ExampleItem>> ExamplesAsync(
        string tenant, ContextParameters parameters, ContextServices services, CancellationToken ct)
    {
        if (parameters.Examples is not > 0)
        {
            return [];
        }
        return await services.Examples.GetAsync(tenant, parameters.Task, ct);
    }

    public static List<FieldError> Validate(ContextParameters p, LimitsOptions limits)
    {
        var errors = new List<FieldError>();
        if (p.Budget is null or < 1 or > MaxBudget)
        {
            errors.Add(new("budget", $"budget is required, between 1 and {MaxBudget}."));
        }
        if (p.Reserve is < 0)
        {
            errors.Add(new("reserve", "reserve must be >= 0."));
        }
        else if (p.Reserve is { } r && p.Budget is { } b && r >= b)
        {
            errors.Add(new("reserve", "reserve must be less than budget."));
        }
        if (p.Query is not null && Encoding.UTF8.GetByteCount(p.Query) > limits.MaxContentBytes)
        {
            errors.Add(new("query", $"query exceeds {limits.MaxContentBytes} bytes."));
        }
        if (p.Examples is < 0 or > MaxExamples)
        {
            errors.Add(new("examples", $"examples must be between 0 and {MaxExamples}."));
        }
        if (p.Task is { } task && !Identifiers.IsValid(task))
        {
            errors.Add(new("task", "task must be 1-128 characters of [A-Za-z0-9._:-]."));
        }
        if (p.Collections is { } collections)
        {
            var names = CollectionNames(collections);
            if (names.Length is 0 or > MaxCollections || names.Any(n => !Identifiers.IsValid(n)))
            {
                errors.Add(new("collections", $"collections must be 1-{MaxCollections} comma-separated names of 1-128 characters of [A-Za-z0-9._:-]."));
            }
        }
        foreach (var (field, share) in new[]
        {
            ("recentShare", p.RecentShare), ("summaryShare", p.SummaryShare), ("knowledgeShare", p.KnowledgeShare),
            ("examplesShare", p.ExamplesShare),
        })
        {
            if (share is { } value && (double.IsNaN(value) || value < 0 || value > 1))
            {
                errors.Add(new(field, string.Create(CultureInfo.InvariantCulture, $"{field} must be between 0 and 1.")));
            }
        }
        return errors;
    }

    // Spaces around a name are forgiven ("a, b"); any other character outside the id rule makes the list invalid.
    public static string[] CollectionNames(string collections) =>
        [.. collections.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(n => n.Trim(' ')).Where(n => n.Length > 0)];

    /// <summary>
    /// Turn costs in the target encoding: the counts stored at append when the encoding matches, otherwise
    /// counted from content once and cached. Null when a turn vanished (the conversation was deleted meanwhile).
    /// </summary>
    private static async Task<int[]?> CostsAsync(
        string tenant, string id, IReadOnlyList<TurnHeader> headers, ModelTokenizer tokenizer,
        ConversationQueries queries, ModelTokenizers tokenizers, CancellationToken ct)
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
            else if (tokenizers.TryGetCachedCount(CacheKey(encoding, tenant, id, h.Index), out var cached))
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
                tokenizers.CacheCount(CacheKey(encoding, tenant, id, h.Index), tokens);
                costs[i] = tokens;
            }
        }
        return costs;
    }

    private static (string, string, string, int) CacheKey(string encoding, string tenant, string id, int index) =>
        (encoding, tenant, id, index);
}

/// <summary>What the context endpoints need from the container.</summary>
public sealed record ContextServices(
    ConversationQueries Queries, ConversationIndexCache Indexes, ModelTokenizers Tokenizers,
    ContextVectors Vectors, KnowledgeIndexCache Knowledge, ExampleIndexCache Examples, ContextUsageLog Usage,
    ContextResponseCache Responses, IOptions<LimitsOptions> Limits, TimeProvider Time);
