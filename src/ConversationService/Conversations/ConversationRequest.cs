using ConversationService.Hosting;
using FastEndpoints;
using FluentValidation;

namespace ConversationService.Conversations;

/// <summary>A request about one conversation, named by the route's <c>{id}</c>.</summary>
public class ConversationRequest
{
    [BindFrom("id"), RouteParam]
    public string ConversationId { get; set; } = "";
}

/// <summary>A write that may be conditional: <c>If-Match: "&lt;version&gt;"</c>.</summary>
public interface IConditionalRequest
{
    string? IfMatch { get; }
}

/// <summary>The rules of every conversation request: an id that could never be stored is a 400 before any I/O.</summary>
public sealed class ConversationRequestValidator : Validator<ConversationRequest>
{
    public ConversationRequestValidator()
    {
        RuleFor(r => r.ConversationId)
            .Must(Identifiers.IsValid).WithMessage($"A conversation id is {Identifiers.Rule}.")
            .OverridePropertyName("id");
    }
}

public sealed class ConditionalRequestValidator : AbstractValidator<IConditionalRequest>
{
    public ConditionalRequestValidator()
    {
        RuleFor(r => r.IfMatch)
            .Must(ifMatch => ConversationDecisions.TryParseIfMatch(ifMatch, out _))
            .WithMessage("If-Match must be a quoted version number, e.g. \"7\".")
            .OverridePropertyName("If-Match");
    }

    /// <summary>The version an If-Match names; null when absent (the validator has refused anything else).</summary>
    public static long? ExpectedVersion(IConditionalRequest request) =>
        ConversationDecisions.TryParseIfMatch(request.IfMatch, out var version) ? version : null;
}
