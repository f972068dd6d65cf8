using ConversationService.Hosting;
using FastEndpoints;

namespace ConversationService.Dashboard.GetDashboard;

/// <summary>
/// GET /dashboard and its assets: a static page, embedded in the assembly, that asks for an API key and then fetches
/// /dashboard/data with it as a bearer token (a plain link cannot carry the header; the key never appears in a URL).
/// Anonymous, as it holds no data. Its Content-Security-Policy allows scripts from the service only, no inline script.
/// </summary>
public sealed class Endpoint : EndpointWithoutRequest
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

    /// <summary>What may be served: everything else under /dashboard/assets is a 404.</summary>
    private static readonly Dictionary<string, string> Assets = new(StringComparer.Ordinal)
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["dashboard.css"] = "text/css; charset=utf-8",
        ["dashboard.js"] = "text/javascript; charset=utf-8",
        ["favicon.svg"] = "image/svg+xml",
        ["chart.umd.min.js"] = "text/javascript; charset=utf-8",
        ["chart.js.LICENSE.md"] = "text/plain; charset=utf-8",
    };

    public override void Configure()
    {
        Get("/dashboard", "/dashboard/assets/{asset}");
        AllowAnonymous();
        Description(b => b.ExcludeFromDescription());
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var asset = Route<string>("asset", isRequired: false) ?? "index.html";
        if (!Assets.TryGetValue(asset, out var contentType)
            || typeof(Endpoint).Assembly.GetManifestResourceStream($"dashboard/{asset}") is not { } stream)
        {
            await Send.ResultAsync(Problems.NotFound("Not found", "The dashboard has no such asset."));
            return;
        }
        await using (stream)
        {
            var headers = HttpContext.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.CacheControl = "no-cache";
            await Send.StreamAsync(stream, contentType: contentType, cancellation: ct);
        }
    }
}
