using ConversationService.Hosting;
using FastEndpoints;

namespace ConversationService.Cache.DeleteCacheEntry;

/// <summary>DELETE /cache/entries/{key}: the entry's row (question, vector, response) is deleted; no replica holds a copy.</summary>
public sealed class Endpoint(CacheTable table) : Endpoint<Request>
{
    public override void Configure()
    {
        Delete("/cache/entries/{key}");
        Description(b => b.WithName("DeleteCacheEntry").WithTags("Cache")
            .Produces(StatusCodes.Status204NoContent).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound));
        Summary(s => s.Summary = "Delete one cached response by the key PUT returned.");
    }

    public override async Task HandleAsync(Request request, CancellationToken ct) =>
        await Send.ResultAsync(await table.DeleteAsync(User.Tenant(), request.Key, ct) > 0
            ? TypedResults.NoContent()
            : Problems.NotFound("Cache entry not found", $"No cache entry '{request.Key}' exists for this API key."));
}
