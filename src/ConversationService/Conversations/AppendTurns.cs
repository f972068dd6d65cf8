using System.Security.Claims;
using System.Text.Json;
using ConversationService.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ConversationService.Conversations;

/// <summary>POST /conversations/{id}/turns: one turn, or {turns: [...]} stored atomically.</summary>
public static class AppendTurns
{
    /// <summary>Either the fields of a single turn or <see cref="Turns"/>, never both.</summary>
    public sealed record Request(
        string? Id, string? Role, string? Content, string? Name, DateTimeOffset? OccurredAt, JsonElement? Metadata,
        List<TurnInput?>? Turns);

    public sealed record Response(string ConversationId, long Version, IReadOnlyList<AppendedTurn> Turns);

    public static RouteHandlerBuilder MapAppendTurns(this RouteGroupBuilder group) =>
        group.MapPost("/{id}/turns", HandleAsync)
            .WithName("AppendTurns")
            .WithSummary("Append one turn or a batch of turns (atomic); creates the conversation if absent.")
            .WithDescription(
                "Idempotent by turn id: a stored id returns its original result and stores nothing; the same id with "
                + "other content is 409. If-Match: \"<version>\" makes the append conditional (409 on mismatch). "
                + "More than Limits:MaxTurnsPerBatch turns is 400; content over Limits:MaxContentBytes is 413.")
            .Produces<Response>(StatusCodes.Status201Created)
            .ProducesWriteProblems();

    private static async Task<IResult> HandleAsync(
        string id, Request request, [FromHeader(Name = "If-Match")] string? ifMatch, ClaimsPrincipal user,
        HttpContext http, TurnAppender appender, IOptions<LimitsOptions> limits, CancellationToken ct)
    {
        if (ConversationWriter.CheckIfMatch(ifMatch, out var expectedVersion) is { } invalid)
        {
            return invalid;
        }
        var isBatch = request.Turns is not null;
        if (isBatch && (request.Role ?? request.Content ?? request.Id ?? request.Name) is not null)
        {
            return Problems.Invalid("turns", "Send either the fields of one turn or {\"turns\": [...]}, not both.");
        }
        List<TurnInput?> inputs = request.Turns
            ?? [new TurnInput(request.Id, request.Role, request.Content, request.Name, request.OccurredAt, request.Metadata)];
        var errors = ConversationDecisions.ValidateTurns(inputs, isBatch, limits.Value);
        if (errors.Count > 0)
        {
            return Problems.Invalid(errors, errors.Any(e => e.TooLarge)
                ? StatusCodes.Status413PayloadTooLarge
                : StatusCodes.Status400BadRequest);
        }
        var turns = inputs.Select(t => t!)
            .Select(t => new NewTurn(t.Id ?? Guid.CreateVersion7().ToString("N"), t.Role!, t.Content!, t.Name, t.OccurredAt, t.Metadata))
            .ToArray();
        var clientIds = inputs.Select(t => t!.Id).OfType<string>().ToArray();

        return await appender.AppendAsync(user.Tenant(), id, turns, clientIds, expectedVersion, isBatch, ct) switch
        {
            AppendResult.Appended appended => Created(http, new Response(id, appended.Version, appended.Turns)),
            AppendResult.NotFound => Problems.NotFound(id),
            AppendResult.VersionConflict conflict => Problems.VersionConflict(conflict.Expected, conflict.Actual),
            AppendResult.TurnIdConflict conflict => Results.Problem(
                statusCode: StatusCodes.Status409Conflict, title: "Turn id already used",
                detail: $"Turn id '{conflict.TurnId}' ({conflict.Field}) is stored with a different role, content or name."),
            _ => Problems.Busy(id),
        };
    }

    private static JsonHttpResult<Response> Created(HttpContext http, Response response)
    {
        http.Response.Headers.ETag = $"\"{response.Version}\"";
        return TypedResults.Json(response, statusCode: StatusCodes.Status201Created);
    }
}
