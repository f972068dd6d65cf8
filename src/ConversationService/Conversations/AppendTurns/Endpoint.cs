using ConversationService.Hosting;
using FastEndpoints;

namespace ConversationService.Conversations.AppendTurns;

/// <summary>POST /conversations/{id}/turns: one turn, or {turns: [...]} stored atomically.</summary>
public sealed class Endpoint(TurnAppender appender) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Post("/conversations/{id}/turns");
        Description(b => b.WithName("AppendTurns").WithTags("Conversations")
            .Produces<Response>(StatusCodes.Status201Created).ProducesWriteProblems());
        Summary(s =>
        {
            s.Summary = "Append one turn or a batch of turns (atomic); creates the conversation if absent.";
            s.Description =
                "Idempotent by turn id: a stored id returns its original result and stores nothing; the same id with "
                + "other content is 409. If-Match: \"<version>\" makes the append conditional (409 on mismatch). "
                + "More than Limits:MaxTurnsPerBatch turns is 400; content over Limits:MaxContentBytes is 413.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var id = request.ConversationId;
        var isBatch = request.Turns is not null;
        IReadOnlyList<ITurn> inputs = isBatch ? request.Turns! : [request];
        var turns = inputs
            .Select(t => new NewTurn(t.Id ?? Guid.CreateVersion7().ToString("N"), t.Role!, t.Content!, t.Name, t.OccurredAt, t.Metadata))
            .ToArray();
        var clientIds = inputs.Select(t => t.Id).OfType<string>().ToArray();
        var expectedVersion = ConditionalRequestValidator.ExpectedVersion(request);

        switch (await appender.AppendAsync(User.Tenant(), id, turns, clientIds, expectedVersion, isBatch, ct))
        {
            case AppendResult.Appended appended:
                HttpContext.Response.Headers.ETag = $"\"{appended.Version}\"";
                await Send.ResponseAsync(new Response(id, appended.Version, appended.Turns), StatusCodes.Status201Created, ct);
                break;
            case AppendResult.NotFound:
                await Send.ResultAsync(Problems.NotFound(id));
                break;
            case AppendResult.VersionConflict conflict:
                await Send.ResultAsync(Problems.VersionConflict(conflict.Expected, conflict.Actual));
                break;
            case AppendResult.TurnIdConflict conflict:
                await Send.ResultAsync(Results.Problem(
                    statusCode: StatusCodes.Status409Conflict, title: "Turn id already used",
                    detail: $"Turn id '{conflict.TurnId}' ({conflict.Field}) is stored with a different role, content or name."));
                break;
            default:
                await Send.ResultAsync(Problems.Busy(id));
                break;
        }
    }
}
