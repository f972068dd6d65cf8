using System.Security.Claims;
using System.Text;
using System.Text.Json;
using ConversationService.Hosting;
using ConversationService.Summaries;
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
        HttpContext http, ConversationWriter writer, ConversationQueries queries, EventStore.EventStore store,
        SummaryQueries summaries, ModelTokenizers tokenizers, IOptions<LimitsOptions> limits, TimeProvider time, CancellationToken ct)
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
        var (session, state, _) = await writer.OpenAsync(tenant, id, [], ct);
        int status;
        await using (session)
        {
            var decision = ConversationDecisions.DecideSettings(
                tenant, id, state, expectedVersion, request.SystemPrompt, request.Model, metadata, writer.DefaultModel,
                time.GetUtcNow());
            switch (decision)
            {
                case SettingsDecision.NotFound:
                    return Problems.NotFound(id);
                case SettingsDecision.VersionConflict conflict:
                    return Problems.VersionConflict(conflict.Expected, conflict.Actual);
                case SettingsDecision.Started started:
                    await session.AppendAndCommitAsync([started.Event], expectedVersion, ct);
                    status = StatusCodes.Status201Created;
                    break;
                case SettingsDecision.Changed { Event: { } changed }:
                    await session.AppendAndCommitAsync([changed], expectedVersion, ct);
                    status = StatusCodes.Status200OK;
                    break;
                default:
                    status = StatusCodes.Status200OK;
                    break;
            }
        }
        var response = await GetConversation.LoadAsync(tenant, id, queries, store, summaries, ct);
        if (response is null)
        {
            return Problems.NotFound(id); // deleted by a concurrent request right after this one
        }
        http.Response.Headers.ETag = $"\"{response.Version}\"";
        return TypedResults.Json(response, statusCode: status);
    }
}
