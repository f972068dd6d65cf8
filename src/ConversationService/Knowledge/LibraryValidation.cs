using System.Text;
using System.Text.Json;
using ConversationService.Conversations;
using ConversationService.Hosting;

namespace ConversationService.Knowledge;

/// <summary>Input rules of the knowledge and few-shot libraries, as field errors (pure).</summary>
public static class LibraryValidation
{
    public const string IdRule = Identifiers.Rule;

    public static void Id(List<FieldError> errors, string field, string? id)
    {
        if (id is null || !Identifiers.IsValid(id))
        {
            errors.Add(new(field, $"An id is {IdRule}."));
        }
    }

    /// <summary>Required, not blank, no NUL, at most <see cref="LimitsOptions.MaxContentBytes"/> (413 past it).</summary>
    public static void Text(List<FieldError> errors, string field, string? text, LimitsOptions limits, bool required = true)
    {
        if (text is null || (required && string.IsNullOrWhiteSpace(text)))
        {
            if (required)
            {
                errors.Add(new(field, $"{field} is required and must not be blank."));
            }
        }
        else if (ConversationDecisions.HasNul(text))
        {
            errors.Add(new(field, ConversationDecisions.NulMessage));
        }
        else if (Encoding.UTF8.GetByteCount(text) > limits.MaxContentBytes)
        {
            errors.Add(new(field, $"Exceeds {limits.MaxContentBytes} bytes (Limits:MaxContentBytes).", TooLarge: true));
        }
    }

    public static void Metadata(List<FieldError> errors, JsonElement? metadata, LimitsOptions limits)
    {
        if (MetadataRules.Check("metadata", metadata, limits) is { } error)
        {
            errors.Add(error);
        }
    }

    /// <summary>400, or 413 when a field is too large.</summary>
    public static IResult Problem(List<FieldError> errors) =>
        Problems.Invalid(errors, errors.Any(e => e.TooLarge) ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest);

    public static IResult NotFound(string title, string detail) =>
        Results.Problem(statusCode: StatusCodes.Status404NotFound, title: title, detail: detail);
}
