using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using ConversationService.Summaries;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ConversationService.Hosting;

/// <summary>Section <c>Telemetry</c>.</summary>
public sealed class TelemetryOptions
{
    /// <summary>
    /// The management port: Kestrel listens on it beside the public addresses and serves only GET /metrics there (the
    /// Prometheus scrape endpoint). Unset: no scrape endpoint at all.
    /// </summary>
    public int? PrometheusPort { get; set; }

    public IEnumerable<string> Problems()
    {
        if (PrometheusPort is < 1 or > 65_535)
        {
            yield return "Telemetry:PrometheusPort must be a TCP port (1-65535), or unset for no scrape endpoint.";
        }
    }
}

/// <summary>
/// The service's own <see cref="ActivitySource"/> and meter (both named <see cref="Name"/>; README, "Telemetry", lists
/// every span and instrument), and OpenTelemetry for the whole service in the manner of dotnet/eShop's ServiceDefaults:
/// traces of ASP.NET Core, HttpClient, Npgsql, MassTransit and the LLM pipelines; metrics of the service, ASP.NET Core,
/// the runtime, Npgsql and the LLM pipelines; OTLP export of all three signals when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
/// is set, and Prometheus on the management port (<see cref="TelemetryOptions.PrometheusPort"/>).
/// </summary>
public static class Telemetry
{
    public const string Name = "ConversationService";

    /// <summary>MassTransit's activity source: its send, publish and consume spans, with W3C trace context in headers.</summary>
    private const string MassTransitSource = "MassTransit";

    public static readonly ActivitySource Source = new(Name);

    /// <summary>
    /// Starts a span whose parent is <paramref name="traceParent"/> (a W3C traceparent, as stored in an event's
    /// correlation id), so work done later and elsewhere (the daemon, a consumer) continues the trace that caused it.
    /// </summary>
    public static Activity? StartFrom(string name, string? traceParent) =>
        Source.StartActivity(name, ActivityKind.Internal,
            ActivityContext.TryParse(traceParent, null, out var parent) ? parent : default);

    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddCheckedOptions<TelemetryOptions>(builder.Configuration.GetSection("Telemetry"), o => o.Problems());
        services.AddSingleton<ServiceMeter>();
        services.AddOptions<KestrelServerOptions>().Configure<IConfiguration, IOptions<TelemetryOptions>>(ListenOnManagementPort);
        // Log scopes carry the trace and span id, so log lines of a request or a consumer find their trace.
        builder.Logging.Configure(logging => logging.ActivityTrackingOptions =
            ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(Name))
            .WithTracing(tracing => tracing
                // Spans only go out over OTLP: without it none is recorded (they would cost every request for nothing).
                .SetSampler(otlp ? new ParentBasedSampler(new AlwaysOnSampler()) : new AlwaysOffSampler())
                .AddSource(Name, LlmResilience.TelemetrySource, MassTransitSource)
                .AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = http => !http.Request.Path.StartsWithSegments("/health"))
                .AddHttpClientInstrumentation()
                .AddNpgsql())
            .WithMetrics(metrics => metrics
                .AddMeter(Name, LlmResilience.TelemetrySource)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddPrometheusExporter());
        if (otlp)
        {
            builder.Logging.AddOpenTelemetry(logging =>
            {
                logging.IncludeFormattedMessage = true;
                logging.IncludeScopes = true;
            });
            telemetry.UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>
    /// GET /metrics on the management port only: the port is the one Kestrel accepted the connection on, which a client
    /// cannot forge (a Host header it can). Anything else asked there is 404; /metrics on the public port is not served.
    /// </summary>
    public static WebApplication UseTelemetry(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value.PrometheusPort is { } port)
        {
            app.UseWhen(http => http.Connection.LocalPort == port, management =>
            {
                management.UseOpenTelemetryPrometheusScrapingEndpoint(http => http.Request.Path == "/metrics");
                management.Run(http =>
                {
                    http.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                });
            });
        }
        return app;
    }

    /// <summary>
    /// With a management port, Kestrel listens on it and, because addresses given in code replace the configured URLs,
    /// on those URLs too (<c>ASPNETCORE_URLS</c> or <c>urls</c>, else <c>HTTP_PORTS</c>/<c>HTTPS_PORTS</c>, else
    /// Kestrel's default http://localhost:5000). Endpoints from <c>Kestrel:Endpoints</c> are Kestrel's own and stay.
    /// </summary>
    private static void ListenOnManagementPort(
        KestrelServerOptions kestrel, IConfiguration configuration, IOptions<TelemetryOptions> options)
    {
        if (options.Value.PrometheusPort is not { } port)
        {
            return;
        }
        if (!configuration.GetSection("Kestrel:Endpoints").Exists())
        {
            foreach (var url in PublicUrls(configuration))
            {
                Listen(kestrel, BindingAddress.Parse(url));
            }
        }
        kestrel.ListenAnyIP(port);
    }

    internal static IEnumerable<string> PublicUrls(IConfiguration configuration)
    {
        static IEnumerable<string> Split(string? value) =>
            (value ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        var urls = Split(configuration["urls"]).ToList();
        if (urls.Count == 0)
        {
            urls.AddRange(Split(configuration["http_ports"]).Select(p => $"http://*:{p}"));
            urls.AddRange(Split(configuration["https_ports"]).Select(p => $"https://*:{p}"));
        }
        return urls.Count > 0 ? urls : ["http://localhost:5000"];
    }

    private static void Listen(KestrelServerOptions kestrel, BindingAddress address)
    {
        Action<ListenOptions> tls = listen =>
        {
            if (address.Scheme == "https")
            {
                listen.UseHttps();
            }
        };
        if (address.Host == "localhost")
        {
            kestrel.ListenLocalhost(address.Port, tls);
        }
        else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
        {
            kestrel.Listen(ip, address.Port, tls);
        }
        else
        {
            kestrel.ListenAnyIP(address.Port, tls); // *, + or a host name, as Kestrel binds them
        }
    }
}

/// <summary>
/// The service's meter (<see cref="Telemetry.Name"/>), from the host's meter factory: features create their
/// instruments on it (e.g. <c>ContextMetrics</c>, <c>UsageMetrics</c>).
/// </summary>
public sealed class ServiceMeter(IMeterFactory meters)
{
    public Meter Meter { get; } = meters.Create(Telemetry.Name);
}
