using ConversationService.Hosting;
using FastEndpoints;
using Microsoft.Extensions.Options;

namespace ConversationService.Cache.PutCacheEntry;

/// <summary>PUT /cache/entries: store the response to the question (replacing the entry of the same key).</summary>
public sealed class Endpoint(CacheQueries queries, CacheTable table, IOptions<CacheOptions> options, TimeProvider time)
    : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Put("/cache/entries");
        Description(b => b.WithName("PutCacheEntry").WithTags("Cache").ProducesWriteProblems()
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable));
        Summary(s => s.Summary = "Store an LLM response for this question; returns the entry's key and expiry.");
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        if (await queries.QueryAsync(User.Tenant(), request, ct) is not { } query)
        {
            await Send.ResultAsync(Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service unavailable",
                detail: "The embedding model did not embed the question; nothing was stored. Retry shortly."));
            return;
        }
        var now = time.GetUtcNow();
        var expires = now + (request.TtlSeconds is { } ttl ? TimeSpan.FromSeconds(ttl) : options.Value.DefaultTtl);
        await table.PutAsync(User.Tenant(), new NewCacheEntry(
            query.Key, query.Model, query.Fingerprint, query.FinalUserMessage, query.Vector, request.Response!, request.Metadata,
            queries.CountTokens(query.Model, request.Response!), now, expires), ct);
        await Send.OkAsync(new Response(query.Key, expires), ct);
    }
}
