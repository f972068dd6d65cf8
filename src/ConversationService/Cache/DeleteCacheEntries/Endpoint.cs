using ConversationService.Hosting;
using FastEndpoints;

namespace ConversationService.Cache.DeleteCacheEntries;

/// <summary>DELETE /cache/entries: every entry of the caller's tenant is deleted; the count comes back.</summary>
public sealed class Endpoint(CacheTable table) : EndpointWithoutRequest<Response>
{
    public override void Configure()
    {
        Delete("/cache/entries");
        Description(b => b.WithName("DeleteCacheEntries").WithTags("Cache"));
        Summary(s => s.Summary = "Delete every cached response of this API key's tenant.");
    }

    public override async Task HandleAsync(CancellationToken ct) =>
        await Send.OkAsync(new Response(await table.DeleteAsync(User.Tenant(), null, ct)), ct);
}
