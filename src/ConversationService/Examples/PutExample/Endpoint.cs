using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Storage;
using FastEndpoints;

namespace ConversationService.Examples.PutExample;

/// <summary>PUT /examples/{exampleId}: store (201) or replace (200) a few-shot example; its input is embedded off the request path.</summary>
public sealed class Endpoint(GroupCommit commits, ExampleQueries queries, TimeProvider time)
    : Endpoint<Request, GetExample.Response>
{
    public override void Configure()
    {
        Put("/examples/{exampleId}");
        Description(b => b.WithName("PutExample").WithTags("Examples")
            .Produces<GetExample.Response>(StatusCodes.Status201Created).ProducesWriteProblems());
        Summary(s => s.Summary = "Store a few-shot example (201) or replace it (200); task optionally groups examples.");
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var (tenant, exampleId) = (User.Tenant(), request.ExampleId);
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
            await Send.ResultAsync(Problems.Busy(exampleId));
        }
        else if (await queries.GetOneAsync(tenant, exampleId, ct) is { } row)
        {
            await Send.ResponseAsync(GetExample.Response.From(row), status, ct);
        }
        else
        {
            await Send.ResultAsync(request.NotFound()); // deleted by a concurrent request right after this one
        }
    }
}
