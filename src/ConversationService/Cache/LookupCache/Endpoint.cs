using ConversationService.Hosting;
using FastEndpoints;
using Microsoft.Extensions.Options;

namespace ConversationService.Cache.LookupCache;

/// <summary>
/// POST /cache/lookup: the stored response to the most similar earlier question of the same model and fingerprint that
/// passes the hit decision (<see cref="CacheDecisions.IsHit"/>), or a miss (also when the embedder fails). Every
/// lookup counts for GET /usage and on the meter.
/// </summary>
public sealed class Endpoint(
    CacheQueries queries, CacheTable table, CacheMetrics metrics, IOptions<CacheOptions> options, TimeProvider time)
    : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Post("/cache/lookup");
        Description(b => b.WithName("LookupCache").WithTags("Cache").ProducesValidationProblem());
        Summary(s => s.Summary = "Look up a cached response to this question (hit: response, similarity, age) before calling the LLM.");
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var tenant = User.Tenant();
        var minSimilarity = request.MinSimilarity ?? options.Value.DefaultMinSimilarity;
        // Without the question's vector (the embedder failed) a lookup is a miss: the client calls its LLM.
        var hit = await queries.QueryAsync(tenant, request, ct) is { } query
            ? await table.FindAsync(tenant, query.Model, query.Fingerprint, query.Question, query.Vector, minSimilarity, ct)
            : null;
        var input = hit is null ? 0 : queries.InputTokens(request);
        await table.RecordLookupAsync(tenant, request.Model!, hit is not null, input, hit?.OutputTokens ?? 0, ct);
        metrics.LookedUp(tenant, request.Model!, hit is not null, input, hit?.OutputTokens ?? 0);
        await Send.OkAsync(hit is null ? new Response(false) : new Response(
            true, hit.Key, hit.Response, hit.Similarity, Math.Max(0, (time.GetUtcNow() - hit.CreatedAt).TotalSeconds), hit.Metadata), ct);
    }
}
