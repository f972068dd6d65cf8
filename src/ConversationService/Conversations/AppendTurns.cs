using System.Collections.ObjectModel;
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
        HttpContext http, ConversationWriter writer, ModelTokenizers tokenizers,
        IOptions<LimitsOptions> limits, TimeProvider time, CancellationToken ct)
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

        // Counting is the costly part of an append, so it happens before the stream lock is taken, in the default
        // model's encoding (the one almost every conversation uses); inside the lock only another encoding recounts.
        if (!tokenizers.TryResolve(writer.DefaultModel, out var likely))
        {
            throw new InvalidOperationException($"Default model '{writer.DefaultModel}' has no tokenizer.");
        }
        var likelyTokens = turns.ToDictionary(
            t => t.Id, t => likely.CountMessageTokens(t.Role, t.Content, t.Name), StringComparer.Ordinal);

        var tenant = user.Tenant();
        var clientIds = inputs.Select(t => t!.Id).OfType<string>().ToArray();
        // Almost every append carries ids that are new, and the unique (tenant, conversation, turn_id) constraint
        // rejects a repeated one anyway, so the first attempt skips looking the ids up. A retry shows up as that
        // violation, or as an If-Match conflict; only then is the append redone reading the stored ids first.
        try
        {
            if (await AttemptAsync([]) is { } done)
            {
                return done;
            }
        }
        catch (PostgresException e) when (e is
            { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: ConversationProjection.TurnIdConstraint })
        {
        }
        return await AttemptAsync(clientIds)
            ?? throw new InvalidOperationException("An append that looked up its turn ids asked to look them up again.");

        AppendDecision Decide(ConversationState state, IReadOnlyDictionary<string, TurnRow> stored)
        {
            if (!tokenizers.TryResolve(state.Model, out var tokenizer))
            {
                throw new InvalidOperationException($"Conversation model '{state.Model}' has no tokenizer.");
            }
            return ConversationDecisions.DecideAppend(
                tenant, id, state, expectedVersion, turns, stored, isBatch, tokenizer.EncodingName,
                t => tokenizer.EncodingName == likely.EncodingName
                    ? likelyTokens[t.Id]
                    : tokenizer.CountMessageTokens(t.Role, t.Content, t.Name),
                time.GetUtcNow());
        }

        // When this replica appended last, the decision runs on the state it left and the append is one round trip
        // that stores nothing unless the conversation is still at that version. Only a plain acceptance goes this
        // way: every other answer (a conflict, a possible retry) is given from the locked state below.
        async Task<IResult?> AttemptAtKnownStateAsync()
        {
            if (writer.KnownState(tenant, id) is not { } known
                || (expectedVersion is { } expected && expected != known.Version)
                || Decide(known, ReadOnlyDictionary<string, TurnRow>.Empty) is not AppendDecision.Accepted { Events.Count: > 0 } accepted
                || await writer.TryAppendAtKnownStateAsync(tenant, id, known, accepted.Events, ct) is not { } appended)
            {
                return null;
            }
            writer.Appended(tenant, id, known, appended[^1].Version, turns.Length);
            return Created(http, new Response(id, appended[^1].Version, accepted.Turns));
        }

        // Null when the answer depends on turns this attempt did not look up.
        async Task<IResult?> AttemptAsync(string[] lookup)
        {
            if (lookup.Length == 0 && await AttemptAtKnownStateAsync() is { } fast)
            {
                return fast;
            }
            var (session, state, stored) = await writer.OpenAsync(tenant, id, lookup, ct);
            await using (session)
            {
                var decision = Decide(state, stored);
                switch (decision)
                {
                    case AppendDecision.NotFound:
                        return Problems.NotFound(id);
                    case AppendDecision.VersionConflict when lookup.Length == 0 && clientIds.Length > 0:
                        return null; // maybe a retry of an append that succeeded: the stored turns decide
                    case AppendDecision.VersionConflict conflict:
                        return Problems.VersionConflict(conflict.Expected, conflict.Actual);
                    case AppendDecision.TurnIdConflict idConflict:
                        return Results.Problem(
                            statusCode: StatusCodes.Status409Conflict, title: "Turn id already used",
                            detail: $"Turn id '{idConflict.TurnId}' ({idConflict.Field}) is stored with a different "
                                + "role, content or name.");
                    case AppendDecision.Accepted { Events.Count: 0 } replay:
                        return Created(http, new Response(id, replay.ReplayVersion, replay.Turns));
                    case AppendDecision.Accepted accepted:
                        var appended = await session.AppendAndCommitAsync(accepted.Events, expectedVersion, ct);
                        writer.Appended(tenant, id, state, appended[^1].Version, accepted.Events.Count(e => e is TurnAppended));
                        return Created(http, new Response(id, appended[^1].Version, accepted.Turns));
                    default:
                        throw new InvalidOperationException($"Unhandled decision {decision}.");
                }
            }
        }
    }

    private static JsonHttpResult<Response> Created(HttpContext http, Response response)
    {
        http.Response.Headers.ETag = $"\"{response.Version}\"";
        return TypedResults.Json(response, statusCode: StatusCodes.Status201Created);
    }
}
