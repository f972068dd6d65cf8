using ConversationService.Hosting;
using FastEndpoints;

namespace ConversationService.Examples.GetExample;

/// <summary>GET /examples/{exampleId}.</summary>
public sealed class Endpoint(ExampleQueries queries) : Endpoint<ExampleRequest, Response>
{
    public override void Configure()
    {
        Get("/examples/{exampleId}");
        Description(b => b.WithName("GetExample").WithTags("Examples").ProducesProblem(StatusCodes.Status404NotFound));
        Summary(s => s.Summary = "A few-shot example: input, output and task.");
    }

    public override async Task HandleAsync(ExampleRequest request, CancellationToken ct)
    {
        if (await queries.GetOneAsync(User.Tenant(), request.ExampleId, ct) is { } row)
        {
            await Send.OkAsync(Response.From(row), ct);
        }
        else
        {
            await Send.ResultAsync(request.NotFound());
        }
    }
}
