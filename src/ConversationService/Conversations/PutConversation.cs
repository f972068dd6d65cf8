using System.Security.Claims;
using System.Text;
using System.Text.Json;
using ConversationService.Hosting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace ConversationService.Conversations;

/// <summary>PUT /conversations/{id}: create, or change the settings given (absent fields stay as they are).</summary>
public static class PutConversation
{
    public sealed record Request(string? SystemPrompt, string? Model, JsonElement? Metadata);

    public static RouteHandlerBuilder MapPutConversation(this RouteGroupBuilder group) =>
        group.MapPut("/{id}", HandleAsync)
            .WithName("PutConversation")
            .WithSummary("Create a conversation (201) or update its system prompt, model or metadata (200).")
            .Produces<GetConversation.Response>(StatusCodes.Status201Created)
            .Produces<GetConversation.Response>()
            .ProducesWriteProblems();

    private static async Task<IResult> HandleAsync(
        string id, Request request, [FromHeader(Name = "If-Match")] string? ifMatch, ClaimsPrincipal user,
        HttpContext http, ConversationWriter writer, ConversationQueries queries, IndexedVersions indexed,
        ModelTokenizers tokenizers, IOptions<LimitsOptions> limits, TimeProvider time, CancellationToken ct)
    {
        if (ConversationWriter.CheckIfMatch(ifMatch, out var expectedVersion) is { } invalid)
        {
            return invalid;
        }
        if (request.Model is not null && !tokenizers.TryResolveRequested(request.Model, out _))
        {
            return Problems.UnknownModel("model", request.Model);
        }
        if (request.SystemPrompt is not null && Encoding.UTF8.GetByteCount(request.SystemPrompt) > limits.Value.MaxContentBytes)
        {
            return Problems.Invalid(
                [new FieldError("systemPrompt", $"Exceeds {limits.Value.MaxContentBytes} bytes (Limits:MaxContentBytes).", true)],
                StatusCodes.Status413PayloadTooLarge);
        }
        if (ConversationDecisions.HasNul(request.SystemPrompt))
        {
            return Problems.Invalid("systemPrompt", ConversationDecisions.NulMessage);
        }
        if (MetadataRules.Check("metadata", request.Metadata, limits.Value) is { } metadataError)
        {
            return Problems.Invalid([metadataError], metadataError.TooLarge
                ? StatusCodes.Status413PayloadTooLarge
                : StatusCodes.Status400BadRequest);
        }
        var metadata = request.Metadata is { ValueKind: JsonValueKind.Object } ? request.Metadata : null;

        var tenant = user.Tenant();
        var status = 0;
        using (await writer.LockAsync(tenant, id, ct))
        {
            for (var attempt = 0; attempt < ConversationWriter.MaxAttempts && status == 0; attempt++)
            {
                await ConversationWriter.BackOffAsync(attempt, ct);
                var (state, _) = await writer.ReadAsync(tenant, id, [], ct);
                var decision = ConversationDecisions.DecideSettings(
                    tenant, id, state, expectedVersion, request.SystemPrompt, request.Model, metadata, writer.DefaultModel,
                    time.GetUtcNow());
                if (decision is SettingsDecision.NotFound)
                {
                    return Problems.NotFound(id);
                }
                if (decision is SettingsDecision.VersionConflict conflict)
                {
                    return Problems.VersionConflict(conflict.Expected, conflict.Actual);
                }
                var (change, created) = decision switch
                {
                    SettingsDecision.Started started => ((object?)started.Event, true),
                    SettingsDecision.Changed changed => (changed.Event, false),
                    _ => throw new InvalidOperationException($"Unhandled decision {decision}."),
                };
                // A conversation that moved meanwhile is read and decided again (an If-Match then conflicts).
                if (change is null || await writer.TryAppendAsync(tenant, id, state.Version, [change], null, ct))
                {
                    status = created ? StatusCodes.Status201Created : StatusCodes.Status200OK;
                }
            }
        }
        if (status == 0)
        {
            return Problems.Busy(id);
        }
        var response = await GetConversation.LoadAsync(tenant, id, queries, indexed, ct);
        if (response is null)
        {
            return Problems.NotFound(id); // deleted by a concurrent request right after this one
        }
        http.Response.Headers.ETag = $"\"{response.Version}\"";
        return TypedResults.Json(response, statusCode: status);
    }
}
