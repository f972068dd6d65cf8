using System.Security.Claims;
using System.Text;
using ConversationService.Hosting;

namespace ConversationService.Context;

/// <summary>
/// POST /conversations/{id}/context: the GET parameters in a JSON body, plus <c>candidates</c>, the RAG chunks of
/// the caller's own retriever, which are relevance-filtered and packed into the knowledge section.
/// </summary>
public static class PostContext
{
    public const int MaxCandidates = 100;
    public const int MaxCandidateBytes = 32_768;
    public const int MaxCandidateIdLength = 256;

    public sealed record Candidate(string? Id, string? Text);

    public sealed record Request(
        int? Budget, string? Model, string? Query, int? Reserve, int? Examples, string? Task, string? Collections,
        double? RecentShare, double? SummaryShare, double? KnowledgeShare, double? ExamplesShare,
        IReadOnlyList<Candidate>? Candidates);

    public static RouteHandlerBuilder MapPostContext(this RouteGroupBuilder group) =>
        group.MapPost("/{id}/context", HandleAsync)
            .WithName("PostContext")
            .WithSummary("The context window of GET, with the caller's retrieved chunks filtered and packed into knowledge.")
            .WithDescription(GetContext.Description
                + $" candidates: at most {MaxCandidates} of {{id, text}}, ids unique (1-{MaxCandidateIdLength} characters), "
                + $"text at most {MaxCandidateBytes} bytes.")
            .Produces<GetContext.Response>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

    private static Task<IResult> HandleAsync(
        string id, Request request, ClaimsPrincipal user, [Microsoft.AspNetCore.Http.AsParameters] ContextServices services,
        CancellationToken ct)
    {
        var errors = Validate(request.Candidates ?? []);
        if (errors.Count > 0)
        {
            return Task.FromResult(Problems.Invalid(errors));
        }
        var parameters = new ContextParameters(
            request.Budget, request.Model, request.Query, request.Reserve, request.Examples, request.Task,
            request.Collections, request.RecentShare, request.SummaryShare, request.KnowledgeShare, request.ExamplesShare);
        var candidates = (request.Candidates ?? []).Select(c => new KnowledgeItem(c.Id!, c.Text!, null)).ToArray();
        return GetContext.HandleAsync(id, parameters, candidates, user, services, ct);
    }

    public static List<FieldError> Validate(IReadOnlyList<Candidate> candidates)
    {
        var errors = new List<FieldError>();
        if (candidates.Count > MaxCandidates)
        {
            errors.Add(new("candidates", $"at most {MaxCandidates} candidates."));
            return errors;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < candidates.Count; i++)
        {
            var (candidateId, text) = (candidates[i]?.Id, candidates[i]?.Text);
            if (candidateId is not { Length: >= 1 and <= MaxCandidateIdLength } || candidateId.Any(char.IsControl))
            {
                errors.Add(new($"candidates[{i}].id", $"id must be 1-{MaxCandidateIdLength} characters, no control characters."));
            }
            else if (!seen.Add(candidateId))
            {
                errors.Add(new($"candidates[{i}].id", $"duplicate candidate id '{candidateId}'."));
            }
            if (string.IsNullOrWhiteSpace(text))
            {
                errors.Add(new($"candidates[{i}].text", "text is required."));
            }
            else if (Encoding.UTF8.GetByteCount(text) > MaxCandidateBytes)
            {
                errors.Add(new($"candidates[{i}].text", $"text exceeds {MaxCandidateBytes} bytes."));
            }
        }
        return errors;
    }
}
