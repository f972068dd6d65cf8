using ConversationService.Hosting;
using FastEndpoints;
using FluentValidation;

namespace ConversationService.Examples;

/// <summary>A request about one few-shot example, named by the route's <c>{exampleId}</c>.</summary>
public class ExampleRequest
{
    [RouteParam]
    public string ExampleId { get; set; } = "";

    public IResult NotFound() =>
        Problems.NotFound("Example not found", $"No example '{ExampleId}' exists for this API key.");
}

public sealed class ExampleRequestValidator : Validator<ExampleRequest>
{
    public const string IdMessage = $"An id is {Identifiers.Rule}.";

    public ExampleRequestValidator() => RuleFor(r => r.ExampleId).Must(Identifiers.IsValid).WithMessage(IdMessage);
}
