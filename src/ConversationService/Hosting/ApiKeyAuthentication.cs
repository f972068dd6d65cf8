using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace ConversationService.Hosting;

public sealed class ApiKeyEntry
{
    public string Key { get; set; } = "";
    public string Tenant { get; set; } = "";
}

public sealed class AuthOptions
{
    public List<ApiKeyEntry> ApiKeys { get; set; } = [];

    public IEnumerable<string> Problems(bool isDevelopment)
    {
        if (!isDevelopment && ApiKeys.Count == 0)
        {
            yield return "No API keys configured. Set Auth:ApiKeys (environment: Auth__ApiKeys__0__Key and "
                + "Auth__ApiKeys__0__Tenant); the service does not start without keys outside Development.";
        }
        if (!ApiKeys.All(k => !string.IsNullOrWhiteSpace(k.Key) && !string.IsNullOrWhiteSpace(k.Tenant)))
        {
            yield return "Every Auth:ApiKeys entry needs both Key and Tenant (Auth__ApiKeys__<n>__Key, Auth__ApiKeys__<n>__Tenant).";
        }
    }
}

/// <summary>Keys are held only as SHA-256 hashes so every comparison is fixed-length and constant-time.</summary>
public sealed class ApiKeyStore
{
    private readonly (byte[] Hash, string Tenant)[] _keys;

    public ApiKeyStore(IOptions<AuthOptions> options) =>
        _keys = options.Value.ApiKeys.Select(k => (Hash(k.Key), k.Tenant)).ToArray();

    public string? FindTenant(string presentedKey)
    {
        var presented = Hash(presentedKey);
        string? tenant = null;
        // No early exit: the time taken does not reveal which configured key matched.
        foreach (var (hash, keyTenant) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, presented))
            {
                tenant = keyTenant;
            }
        }
        return tenant;
    }

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}

public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ApiKeyStore keys, IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string TenantClaim = "tenant";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.Fail("The Authorization header is not a Bearer token."));
        }
        var tenant = keys.FindTenant(header["Bearer ".Length..].Trim());
        if (tenant is null)
        {
            // The key itself is never logged or echoed.
            return Task.FromResult(AuthenticateResult.Fail("Unknown API key."));
        }
        var identity = new ClaimsIdentity([new Claim(TenantClaim, tenant)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails =
            {
                Status = StatusCodes.Status401Unauthorized,
                Title = "Unauthorized",
                Detail = "Send 'Authorization: Bearer <api-key>' with a key configured in Auth:ApiKeys.",
            },
        });
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = StatusCodes.Status403Forbidden, Title = "Forbidden" },
        });
    }
}

public static class ApiKeyAuthenticationExtensions
{
    public static WebApplicationBuilder AddApiKeyAuthentication(this WebApplicationBuilder builder)
    {
        var isDevelopment = builder.Environment.IsDevelopment();
        builder.Services.AddCheckedOptions<AuthOptions>(builder.Configuration.GetSection("Auth"), o => o.Problems(isDevelopment));
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        return builder;
    }

    /// <summary>The caller's tenant; endpoints behind RequireAuthorization always have one.</summary>
    public static string Tenant(this ClaimsPrincipal user) =>
        user.FindFirstValue(ApiKeyAuthenticationHandler.TenantClaim)
        ?? throw new InvalidOperationException("Endpoint reached without an authenticated tenant.");
}
