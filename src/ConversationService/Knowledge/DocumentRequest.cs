using ConversationService.Hosting;
using FastEndpoints;
using FluentValidation;

namespace ConversationService.Knowledge;

/// <summary>A request about one collection, named by the route's <c>{collection}</c>.</summary>
public class CollectionRequest
{
    [RouteParam]
    public string Collection { get; set; } = "";
}

/// <summary>A request about one document, named by the route's <c>{collection}</c> and <c>{docId}</c>.</summary>
public class DocumentRequest : CollectionRequest
{
    [RouteParam]
    public string DocId { get; set; } = "";

    public IResult NotFound() => Problems.NotFound(
        "Document not found", $"No document '{DocId}' in collection '{Collection}' exists for this API key.");
}

public sealed class CollectionRequestValidator : Validator<CollectionRequest>
{
    public const string IdMessage = $"An id is {Identifiers.Rule}.";

    public CollectionRequestValidator() => RuleFor(r => r.Collection).Must(Identifiers.IsValid).WithMessage(IdMessage);
}

public sealed class DocumentRequestValidator : Validator<DocumentRequest>
{
    public DocumentRequestValidator()
    {
        Include(new CollectionRequestValidator());
        RuleFor(r => r.DocId).Must(Identifiers.IsValid).WithMessage(CollectionRequestValidator.IdMessage);
    }
}
