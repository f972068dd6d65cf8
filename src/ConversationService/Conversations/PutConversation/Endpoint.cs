using System.Text.Json;
using ConversationService.Hosting;
using FastEndpoints;

namespace ConversationService.Conversations.PutConversation;

/// <summary>PUT /conversations/{id}: create, or change the settings given (absent fields stay as they are).</summary>
public sealed class Endpoint(
    ConversationWriter writer, ConversationQueries queries, IndexedVersions indexed, TimeProvider time)
    : Endpoint<Request, GetConversation.Response>
{
    public override void Configure()
    {
        Put("/conversations/{id}");
        Description(b => b.WithName("PutConversation").WithTags("Conversations")
            .Produces<GetConversation.Response>(StatusCodes.Status201Created).ProducesWriteProblems());
        Summary(s => s.Summary = "Create a conversation (201) or update its system prompt, model or metadata (200).");
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var (status, problem) = await WriteAsync(User.Tenant(), request, ct);
        if (problem is not null)
        {
            await Send.ResultAsync(problem);
            return;
        }
        var id = request.ConversationId;
        if (await GetConversation.Response.LoadAsync(User.Tenant(), id, queries, indexed, ct) is not { } response)
        {
            await Send.ResultAsync(Problems.NotFound(id)); // deleted by a concurrent request right after this one
            return;
        }
        HttpContext.Response.Headers.ETag = $"\"{response.Version}\"";
        await Send.ResponseAsync(response, status, ct);
    }

    /// <summary>201 or 200, or the problem that stopped the write.</summary>
    private async Task<(int Status, IResult? Problem)> WriteAsync(string tenant, Request request, CancellationToken ct)
    {
        var id = request.ConversationId;
        var expectedVersion = ConditionalRequestValidator.ExpectedVersion(request);
        var metadata = request.Metadata is { ValueKind: JsonValueKind.Object } ? request.Metadata : null;

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
                    return (0, Problems.NotFound(id));
                }
                if (decision is SettingsDecision.VersionConflict conflict)
                {
                    return (0, Problems.VersionConflict(conflict.Expected, conflict.Actual));
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
        return status == 0 ? (0, Problems.Busy(id)) : (status, null);
    }
}
