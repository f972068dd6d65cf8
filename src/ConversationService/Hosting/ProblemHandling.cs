using System.Diagnostics;
using System.Text.Json;
using FluentValidation.Results;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Npgsql;

namespace ConversationService.Hosting;

/// <summary>Problem-details results shared by the endpoints (RFC 9457).</summary>
public static class Problems
{
    public static IResult NotFound(string conversationId) =>
        NotFound("Conversation not found", $"No conversation '{conversationId}' exists for this API key.");

    public static IResult NotFound(string title, string detail) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: title, detail: detail);

    public static IResult VersionConflict(long expected, long actual) => Results.Problem(
        statusCode: StatusCodes.Status409Conflict, title: "Version conflict",
        detail: $"If-Match expected version {expected} but the conversation is at version {actual}.",
        extensions: new Dictionary<string, object?> { ["currentVersion"] = actual });

    /// <summary>503 with Retry-After: the conversation kept changing under this write (other replicas writing it).</summary>
    public static IResult Busy(string conversationId) => new RetryLater(Results.Problem(
        statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service unavailable",
        detail: $"Conversation '{conversationId}' is being written by others; nothing was stored. Retry shortly."));

    private sealed class RetryLater(IResult problem) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter =
                Overload.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return problem.ExecuteAsync(httpContext);
        }
    }
}

/// <summary>
/// Validation failures (of validators and of binding) as ASP.NET Core's validation problem: <c>errors</c> is a dictionary
/// from field to messages. A failure marked <see cref="TooLarge"/> makes the answer a 413.
/// </summary>
public static class ValidationProblems
{
    /// <summary>The error code of a failure that makes the answer a 413 (a field over its size limit).</summary>
    public const string TooLarge = "TooLarge";

    public static object Build(List<ValidationFailure> failures, HttpContext http, int status)
    {
        if (failures.Exists(f => f.ErrorCode == TooLarge))
        {
            status = StatusCodes.Status413PayloadTooLarge;
            http.Response.StatusCode = status;
        }
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var group in failures.GroupBy(f => f.PropertyName, StringComparer.Ordinal))
        {
            errors[group.Key] = [.. group.Select(f => f.ErrorMessage).Distinct(StringComparer.Ordinal)];
        }
        var problem = new HttpValidationProblemDetails(errors)
        {
            Status = status,
            Title = status == StatusCodes.Status413PayloadTooLarge ? "Content too large" : "One or more validation errors occurred.",
            Type = status == StatusCodes.Status413PayloadTooLarge
                ? "https://tools.ietf.org/html/rfc9110#section-15.5.14"
                : "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        };
        problem.Extensions["traceId"] = Activity.Current?.Id ?? http.TraceIdentifier;
        return problem;
    }

    /// <summary>Malformed JSON names the field it is in, as validation errors do ("$.turns[3].role" is "turns[3].role").</summary>
    public static ValidationFailure FromJson(JsonException json) => new(
        json.Path switch
        {
            null or "$" => "body",
            ['$', '.', .. var rest] => rest,
            var path => path,
        },
        $"Malformed JSON: {json.Message}");
}

public static class ProblemMetadataExtensions
{
    /// <summary>The problems every write endpoint can answer with, for the OpenAPI document.</summary>
    public static RouteHandlerBuilder ProducesWriteProblems(this RouteHandlerBuilder builder) => builder
        .ProducesValidationProblem()
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status409Conflict)
        .ProducesProblem(StatusCodes.Status413PayloadTooLarge);
}

/// <summary>Turns exceptions that bad input or races can cause into 4xx problems; anything else is a logged 500.</summary>
public sealed class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (Overload.IsOverload(exception))
        {
            return await Overload.AnswerAsync(httpContext, problems, exception, logger);
        }
        var (status, title, detail) = exception switch
        {
            BadHttpRequestException bad => (bad.StatusCode, bad.StatusCode == 413 ? "Content too large" : "Bad request",
                BadRequestDetail(bad)),
            PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } =>
                (StatusCodes.Status409Conflict, "Conflict", "A concurrent request stored the same item; retry."),
            // Class 22 is "data exception": a value PostgreSQL cannot store, i.e. bad input that validation missed.
            PostgresException { SqlState: ['2', '2', ..] } =>
                (StatusCodes.Status400BadRequest, "Bad request", "The request holds a value that cannot be stored."),
            _ => (StatusCodes.Status500InternalServerError, "Internal server error", null),
        };
        if (status >= 500)
        {
            logger.LogError(exception, "Unhandled exception on {Method} {Path}", httpContext.Request.Method, httpContext.Request.Path);
        }
        httpContext.Response.StatusCode = status;
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Title = title, Detail = detail };
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = problem,
        });
    }

    private static string BadRequestDetail(BadHttpRequestException bad) =>
        bad.InnerException is JsonException json ? $"Malformed JSON: {json.Message}" : bad.Message;
}

public static class ProblemHandlingExtensions
{
    public static WebApplicationBuilder AddProblemHandling(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
            kestrel.Limits.MaxRequestBodySize = context.Configuration.GetValue<long?>("Limits:MaxRequestBodyBytes")
                ?? new LimitsOptions().MaxRequestBodyBytes);
        return builder;
    }

    public static WebApplication UseProblemHandling(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use(RejectOversizeBodies);
        app.Use(RejectOtherMediaTypes);
        return app;
    }

    // Every endpoint reads JSON, and RFC 8259 JSON between systems is UTF-8. A body of another media type, or declared
    // in another charset (or a quoted one, which the JSON reader does not unquote), is refused before any endpoint
    // reads it: an unknown charset would otherwise surface as an exception while binding.
    private static Task RejectOtherMediaTypes(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var hasBody = request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0;
        return request.ContentType is { } contentType
            && ((hasBody && !request.HasJsonContentType())
                || (MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
                    && mediaType.Charset is { Length: > 0 } charset
                    && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)))
            ? WriteProblemAsync(context, StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                "Request bodies are JSON (application/json) in UTF-8: the Content-Type charset must be utf-8 or absent.")
            : next(context);
    }

    // Kestrel enforces the limit while reading; this answers early on a declared length and covers other servers.
    private static Task RejectOversizeBodies(HttpContext context, RequestDelegate next)
    {
        var limit = context.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxRequestBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            return WriteProblemAsync(context, StatusCodes.Status413PayloadTooLarge, "Content too large",
                $"The request body exceeds Limits:MaxRequestBodyBytes ({limit} bytes).");
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }
        return next(context);
    }

    private static Task WriteProblemAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        return context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        }).AsTask();
    }
}
