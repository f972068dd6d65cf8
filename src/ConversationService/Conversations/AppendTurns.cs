using System.Security.Claims;
using System.Text.Json;
using ConversationService.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace ConversationService.Conversations;

/// <summary>POST /conversations/{id}/turns: one turn, or {turns: [...]} stored atomically.</summary>
public static class AppendTurns
{
    /// <summary>Either the fields of a single turn or <see cref="Turns"/>, never both.</summary>
    public sealed record Request(
        string? Id, string? Role, string? Content, string? Name, DateTimeOffset? OccurredAt, JsonElement? Metadata,
        List<TurnInput>? Turns);

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
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);

    private static async Task<IResult> HandleAsync(
        string id, Request request, [FromHeader(Name = "If-Match")] string? ifMatch, ClaimsPrincipal user,
        HttpContext http, ConversationWriter writer, ConversationQueries queries, ModelTokenizers tokenizers,
        IOptions<LimitsOptions> limits, TimeProvider time, CancellationToken ct)
    {
        if (!ConversationDecisions.IsValidTurnId(id))
        {
            return Problems.Invalid("id", "A conversation id is 1-128 characters of A-Z a-z 0-9 . _ : -");
        }
        if (!ConversationDecisions.TryParseIfMatch(ifMatch, out var expectedVersion))
        {
            return Problems.Invalid("If-Match", "If-Match must be a quoted version number, e.g. \"7\".");
        }
        var isBatch = request.Turns is not null;
        if (isBatch && (request.Role ?? request.Content ?? request.Id ?? request.Name) is not null)
        {
            return Problems.Invalid("turns", "Send either the fields of one turn or {\"turns\": [...]}, not both.");
        }
        IReadOnlyList<TurnInput> inputs = request.Turns
            ?? [new TurnInput(request.Id, request.Role, request.Content, request.Name, request.OccurredAt, request.Metadata)];
        var errors = ConversationDecisions.ValidateTurns(inputs, isBatch, limits.Value);
        if (errors.Count > 0)
        {
            return Problems.Invalid(errors, errors.Any(e => e.TooLarge)
                ? StatusCodes.Status413PayloadTooLarge
                : StatusCodes.Status400BadRequest);
        }
        var turns = inputs
            .Select(t => new NewTurn(t.Id ?? Guid.CreateVersion7().ToString("N"), t.Role!, t.Content!, t.Name, t.OccurredAt, t.Metadata))
            .ToArray();

        var tenant = user.Tenant();
        var (session, state) = await writer.OpenAsync(tenant, id, ct);
        await using (session)
        {
            var clientIds = inputs.Where(t => t.Id is not null).Select(t => t.Id!).ToArray();
            var stored = clientIds.Length == 0
                ? new Dictionary<string, TurnRow>()
                : (await queries.GetTurnsByIdsAsync(session.Connection, session.Transaction, tenant, id, clientIds, ct))
                    .ToDictionary(t => t.Id, StringComparer.Ordinal);
            if (!tokenizers.TryResolve(state.Model, out var tokenizer))
            {
                throw new InvalidOperationException($"Conversation model '{state.Model}' has no tokenizer.");
            }
            var decision = ConversationDecisions.DecideAppend(
                tenant, id, state, expectedVersion, turns, stored, isBatch, tokenizer.EncodingName,
                t => tokenizer.CountMessageTokens(t.Role, t.Content, t.Name), time.GetUtcNow());
            switch (decision)
            {
                case AppendDecision.NotFound:
                    return Problems.NotFound(id);
                case AppendDecision.VersionConflict conflict:
                    return Problems.VersionConflict(conflict.Expected, conflict.Actual);
                case AppendDecision.TurnIdConflict idConflict:
                    return Results.Problem(
                        statusCode: StatusCodes.Status409Conflict, title: "Turn id already used",
                        detail: $"Turn id '{idConflict.TurnId}' ({idConflict.Field}) is stored with a different role, "
                            + "content or name.");
                case AppendDecision.Accepted { Events.Count: 0 } replay:
                    return Created(http, new Response(id, replay.ReplayVersion, replay.Turns));
                case AppendDecision.Accepted accepted:
                    var appended = await session.AppendAndCommitAsync(accepted.Events, expectedVersion, ct);
                    return Created(http, new Response(id, appended[^1].Version, accepted.Turns));
                default:
                    throw new InvalidOperationException($"Unhandled decision {decision}.");
            }
        }
    }

    private static JsonHttpResult<Response> Created(HttpContext http, Response response)
    {
        http.Response.Headers.ETag = $"\"{response.Version}\"";
        return TypedResults.Json(response, statusCode: StatusCodes.Status201Created);
    }
}
