using System.Security.Claims;
using System.Text.Json.Serialization;
using ConversationService.Hosting;
using ConversationService.Knowledge;

namespace ConversationService.Examples;

/// <summary>GET /examples/{exampleId}.</summary>
public static class GetExample
{
    public sealed record Response(
        string Id, string Input, string Output, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Task,
        long Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
    {
        public static Response From(ExampleView row) =>
            new(row.Id, row.Input, row.Output, row.Task, row.Version, row.CreatedAt, row.UpdatedAt);
    }

    public static RouteHandlerBuilder MapGetExample(this RouteGroupBuilder group) =>
        group.MapGet("/{exampleId}", HandleAsync)
            .WithName("GetExample")
            .WithSummary("A few-shot example: input, output and task.")
            .Produces<Response>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

    private static async Task<IResult> HandleAsync(string exampleId, ClaimsPrincipal user, ExampleQueries queries, CancellationToken ct)
    {
        if (ExampleInput.Id(exampleId) is { } invalid)
        {
            return invalid;
        }
        return await queries.GetOneAsync(user.Tenant(), exampleId, ct) is { } row
            ? TypedResults.Ok(Response.From(row))
            : ExampleInput.NotFound(exampleId);
    }
}

/// <summary>The id check every example endpoint starts with.</summary>
public static class ExampleInput
{
    public static IResult? Id(string exampleId)
    {
        var errors = new List<FieldError>();
        LibraryValidation.Id(errors, "exampleId", exampleId);
        return errors.Count > 0 ? LibraryValidation.Problem(errors) : null;
    }

    public static IResult NotFound(string exampleId) => LibraryValidation.NotFound(
        "Example not found", $"No example '{exampleId}' exists for this API key.");
}
