using System.Security.Claims;
using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Storage;
using ConversationService.Knowledge;
using Microsoft.Extensions.Options;

namespace ConversationService.Examples;

/// <summary>PUT /examples/{exampleId}: store (201) or replace (200) a few-shot example; its input is embedded off the request path.</summary>
public static class PutExample
{
    public sealed record Request(string? Input, string? Output, string? Task);

    public static RouteHandlerBuilder MapPutExample(this RouteGroupBuilder group) =>
        group.MapPut("/{exampleId}", HandleAsync)
            .WithName("PutExample")
            .WithSummary("Store a few-shot example (201) or replace it (200); task optionally groups examples.")
            .Produces<GetExample.Response>(StatusCodes.Status201Created)
            .Produces<GetExample.Response>()
            .ProducesWriteProblems();

    private static async Task<IResult> HandleAsync(
        string exampleId, Request request, ClaimsPrincipal user, GroupCommit commits, ExampleQueries queries,
        IOptions<LimitsOptions> limits, TimeProvider time, CancellationToken ct)
    {
        var errors = new List<FieldError>();
        LibraryValidation.Id(errors, "exampleId", exampleId);
        LibraryValidation.Text(errors, "input", request.Input, limits.Value);
        LibraryValidation.Text(errors, "output", request.Output, limits.Value);
        if (request.Task is not null)
        {
            LibraryValidation.Id(errors, "task", request.Task);
        }
        if (errors.Count > 0)
        {
            return LibraryValidation.Problem(errors);
        }

        var tenant = user.Tenant();
        var saved = new ExampleSaved(exampleId, request.Input!, request.Output!, request.Task, time.GetUtcNow());
        var status = 0;
        for (var attempt = 0; attempt < ConversationWriter.MaxAttempts && status == 0; attempt++)
        {
            var (existing, version) = await queries.GetForWriteAsync(tenant, exampleId, ct);
            // The same example again stores nothing, so re-syncing a library costs no re-embedding. Stored only if
            // nobody wrote the example meanwhile; otherwise decided again on what they wrote.
            if ((existing is not null && (existing.Input, existing.Output, existing.Task) == (saved.Input, saved.Output, saved.Task))
                || await commits.AppendAsync(new StreamAppend(tenant, ExampleStream.Id(exampleId), version, [saved]), ct))
            {
                status = existing is null ? StatusCodes.Status201Created : StatusCodes.Status200OK;
            }
        }
        if (status == 0)
        {
            return Problems.Busy(exampleId);
        }
        return await queries.GetOneAsync(tenant, exampleId, ct) is { } row
            ? TypedResults.Json(GetExample.Response.From(row), statusCode: status)
            : ExampleInput.NotFound(exampleId); // deleted by a concurrent request right after this one
    }
}
