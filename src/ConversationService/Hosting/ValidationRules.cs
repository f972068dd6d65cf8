using System.Text;
using System.Text.Json;
using FastEndpoints;
using FluentValidation;
using Microsoft.Extensions.Options;

namespace ConversationService.Hosting;

/// <summary>
/// A request validator that reads the limits of the host serving the request. Validators are singletons shared by every
/// host in the process (several in tests), so limits are read when a request is validated, not when one is built.
/// </summary>
public abstract class RequestValidator<TRequest> : Validator<TRequest> where TRequest : notnull
{
    protected LimitsOptions Limits => Resolve<IOptions<LimitsOptions>>().Value;
}

/// <summary>The input rules shared by the validators; every message names the rule and, where one applies, the setting.</summary>
public static class ValidationRules
{
    /// <summary>PostgreSQL text and jsonb cannot hold U+0000, so it is refused up front rather than failing the insert.</summary>
    public const string NulMessage = "Must not contain the NUL character (\\u0000).";

    public static bool HasNul(string? text) => text is not null && text.Contains('\0', StringComparison.Ordinal);

    public static int Bytes(string text) => Encoding.UTF8.GetByteCount(text);

    /// <summary>An identifier (<see cref="Identifiers.Rule"/>); null passes unless a rule before it says otherwise.</summary>
    public static IRuleBuilderOptions<T, string?> Identifier<T>(this IRuleBuilder<T, string?> rule, string message) =>
        rule.Must(id => id is null || Identifiers.IsValid(id)).WithMessage(message);

    /// <summary>At most <paramref name="max"/> bytes of UTF-8, or a 413.</summary>
    public static IRuleBuilderOptions<T, string?> WithinBytes<T>(
        this IRuleBuilder<T, string?> rule, Func<int> max, string prefix = "Exceeds") =>
        rule.Must(text => text is null || Bytes(text) <= max())
            .WithMessage(_ => $"{prefix} {max()} bytes (Limits:MaxContentBytes).")
            .WithErrorCode(ValidationProblems.TooLarge);

    /// <summary>Required, not blank, no NUL, at most <see cref="LimitsOptions.MaxContentBytes"/> (413 past it).</summary>
    public static void RequiredText<T>(this IRuleBuilderInitial<T, string?> rule, Func<LimitsOptions> limits) =>
        rule.Cascade(CascadeMode.Stop)
            .Must(text => !string.IsNullOrWhiteSpace(text)).WithMessage("{PropertyPath} is required and must not be blank.")
            .Must(text => !HasNul(text)).WithMessage(NulMessage)
            .WithinBytes(() => limits().MaxContentBytes);

    /// <summary>Client metadata (<see cref="MetadataRules"/>); a 413 when it is too large.</summary>
    public static IRuleBuilderOptionsConditions<T, JsonElement?> Metadata<T>(
        this IRuleBuilder<T, JsonElement?> rule, Func<LimitsOptions> limits) =>
        rule.Custom((metadata, context) =>
        {
            if (MetadataRules.Check(context.PropertyPath, metadata, limits()) is { } error)
            {
                context.AddFailure(new FluentValidation.Results.ValidationFailure(context.PropertyPath, error.Message)
                {
                    ErrorCode = error.TooLarge ? ValidationProblems.TooLarge : null,
                });
            }
        });

    /// <summary>A model that has a tokenizer; null passes.</summary>
    public static IRuleBuilderOptions<T, string?> KnownModel<T>(this IRuleBuilder<T, string?> rule, Func<ModelTokenizers> tokenizers) =>
        rule.Must(model => model is null || tokenizers().TryResolveRequested(model, out _))
            .WithMessage((_, model) => UnknownModel(model));

    public static string UnknownModel(string? model) =>
        $"Unknown model '{(model?.Length > 64 ? model[..64] + "…" : model)}'. Supported: {ModelTokenizers.SupportedModels}";
}
