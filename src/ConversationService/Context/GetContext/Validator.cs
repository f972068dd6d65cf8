using ConversationService.Hosting;
using FluentValidation;

namespace ConversationService.Context.GetContext;

public sealed class Validator : RequestValidator<Request>
{
    public const int MaxBudget = 2_000_000;
    public const int MaxExamples = 20;
    public const int MaxCollections = 10;

    public Validator()
    {
        RuleFor(r => r.ConversationId)
            .Must(Identifiers.IsValid).WithMessage($"A conversation id is {Identifiers.Rule}.")
            .OverridePropertyName("id");
        RuleFor(r => r.Budget).Must(budget => budget is >= 1 and <= MaxBudget)
            .WithMessage($"budget is required, between 1 and {MaxBudget}.");
        RuleFor(r => r.Reserve).Cascade(CascadeMode.Stop)
            .Must(reserve => reserve is null or >= 0).WithMessage("reserve must be >= 0.")
            .Must((r, reserve) => reserve is null || r.Budget is null || reserve < r.Budget).WithMessage("reserve must be less than budget.");
        RuleFor(r => r.Model).KnownModel(Resolve<ModelTokenizers>);
        RuleFor(r => r.Query)
            .Must(query => query is null || ValidationRules.Bytes(query) <= Limits.MaxContentBytes)
            .WithMessage(_ => $"query exceeds {Limits.MaxContentBytes} bytes.");
        RuleFor(r => r.Examples).Must(examples => examples is null or >= 0 and <= MaxExamples)
            .WithMessage($"examples must be between 0 and {MaxExamples}.");
        RuleFor(r => r.Task).Identifier("task must be 1-128 characters of [A-Za-z0-9._:-].");
        RuleFor(r => r.Collections)
            .Must(collections => collections is null || Request.CollectionNames(collections) is { Length: > 0 and <= MaxCollections } names
                && names.All(Identifiers.IsValid))
            .WithMessage($"collections must be 1-{MaxCollections} comma-separated names of 1-128 characters of [A-Za-z0-9._:-].");
        RuleFor(r => r.RecentShare).Share();
        RuleFor(r => r.SummaryShare).Share();
        RuleFor(r => r.KnowledgeShare).Share();
        RuleFor(r => r.ExamplesShare).Share();
    }
}

public sealed class PostValidator : RequestValidator<PostRequest>
{
    public PostValidator()
    {
        Include(new Validator());
        RuleFor(r => r.Candidates).Cascade(CascadeMode.Stop)
            .Must(candidates => candidates is null || candidates.Count <= PostRequest.MaxCandidates)
            .WithMessage($"at most {PostRequest.MaxCandidates} candidates.")
            .Custom(CheckCandidates);
    }

    private static void CheckCandidates(IReadOnlyList<Candidate?>? candidates, ValidationContext<PostRequest> context)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (candidates?.Count ?? 0); i++)
        {
            var (id, text) = (candidates![i]?.Id, candidates[i]?.Text);
            if (id is not { Length: >= 1 and <= PostRequest.MaxCandidateIdLength } || id.Any(char.IsControl))
            {
                context.AddFailure($"candidates[{i}].id",
                    $"id must be 1-{PostRequest.MaxCandidateIdLength} characters, no control characters.");
            }
            else if (!seen.Add(id))
            {
                context.AddFailure($"candidates[{i}].id", $"duplicate candidate id '{id}'.");
            }
            if (string.IsNullOrWhiteSpace(text))
            {
                context.AddFailure($"candidates[{i}].text", "text is required.");
            }
            else if (ValidationRules.Bytes(text) > PostRequest.MaxCandidateBytes)
            {
                context.AddFailure($"candidates[{i}].text", $"text exceeds {PostRequest.MaxCandidateBytes} bytes.");
            }
        }
    }
}

internal static class ShareRule
{
    /// <summary>A share of what the mandatory parts leave: between 0 and 1.</summary>
    public static IRuleBuilderOptions<T, double?> Share<T>(this IRuleBuilder<T, double?> rule) =>
        rule.Must(share => share is not { } value || (!double.IsNaN(value) && value is >= 0 and <= 1))
            .WithMessage("{PropertyPath} must be between 0 and 1.");
}
