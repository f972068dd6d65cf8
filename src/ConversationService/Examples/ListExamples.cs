using System.Security.Claims;
using System.Text.Json.Serialization;
using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Knowledge;

namespace ConversationService.Examples;

/// <summary>GET /examples?task=&amp;after=&amp;limit=: the tenant's examples by id, only one task's when given, paged.</summary>
public static class ListExamples
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1_000;

    /// <summary><see cref="NextAfter"/> is the <c>after</c> of the next page, absent on the last page.</summary>
    public sealed record Response(
        IReadOnlyList<GetExample.Response> Examples,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? NextAfter);

    public static RouteHandlerBuilder MapListExamples(this RouteGroupBuilder group) =>
        group.MapGet("/", HandleAsync)
            .WithName("ListExamples")
            .WithSummary("Few-shot examples ordered by id (ordinal); task= keeps one task's.")
            .Produces<Response>()
            .ProducesValidationProblem();

    private static async Task<IResult> HandleAsync(
        string? task, string? after, int? limit, ClaimsPrincipal user, ExampleQueries queries, CancellationToken ct)
    {
        var errors = new List<FieldError>();
        if (task is not null)
        {
            LibraryValidation.Id(errors, "task", task);
        }
        if (after is not null && !Identifiers.IsValid(after))
        {
            errors.Add(new("after", $"after is an example id: {LibraryValidation.IdRule}."));
        }
        if (limit is < 1 or > MaxLimit)
        {
            errors.Add(new("limit", $"limit is between 1 and {MaxLimit}."));
        }
        if (errors.Count > 0)
        {
            return LibraryValidation.Problem(errors);
        }
        var take = limit ?? DefaultLimit;
        var rows = await queries.ListAsync(user.Tenant(), task, after, take + 1, ct);
        return TypedResults.Ok(new Response(
            [.. rows.Take(take).Select(GetExample.Response.From)], rows.Count > take ? rows[take - 1].Id : null));
    }
}
