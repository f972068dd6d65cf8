using ConversationService.Hosting;
using FastEndpoints;

namespace ConversationService.Examples.ListExamples;

/// <summary>GET /examples?task=&amp;after=&amp;limit=: the tenant's examples by id, only one task's when given, paged.</summary>
public sealed class Endpoint(ExampleQueries queries) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Get("/examples");
        Description(b => b.WithName("ListExamples").WithTags("Examples"));
        Summary(s => s.Summary = "Few-shot examples ordered by id (ordinal); task= keeps one task's.");
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var take = request.Limit ?? Request.DefaultLimit;
        var rows = await queries.ListAsync(User.Tenant(), request.Task, request.After, take + 1, ct);
        await Send.OkAsync(new Response(
            [.. rows.Take(take).Select(GetExample.Response.From)], rows.Count > take ? rows[take - 1].Id : null), ct);
    }
}
