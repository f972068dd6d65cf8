using System.Text.Json;
using ConversationService.Hosting;
using FluentValidation;

namespace ConversationService.Conversations;

/// <summary>A turn as the client sent it; everything optional so that validation can name each missing field.</summary>
public interface ITurn
{
    string? Id { get; }
    string? Role { get; }
    string? Content { get; }
    string? Name { get; }
    DateTimeOffset? OccurredAt { get; }
    JsonElement? Metadata { get; }
}

/// <summary>
/// The rules of one turn, for POST /conversations/{id}/turns (a turn, or each of a batch) and the AppendTurn command.
/// Content over Limits:MaxContentBytes and metadata over its limit make the answer a 413.
/// </summary>
public sealed class TurnRules : AbstractValidator<ITurn>
{
    public TurnRules(Func<LimitsOptions> limits)
    {
        RuleFor(t => t.Role)
            .Must(role => role is not null && ConversationDecisions.Roles.Contains(role))
            .WithMessage($"Role must be one of {string.Join(", ", ConversationDecisions.Roles)}.");
        RuleFor(t => t.Id).Identifier($"A turn id is {Identifiers.Rule}.");
        RuleFor(t => t.Content).Cascade(CascadeMode.Stop)
            .NotEmpty().WithMessage("Content must not be empty.")
            .Must(content => !ValidationRules.HasNul(content)).WithMessage(ValidationRules.NulMessage)
            .WithinBytes(() => limits().MaxContentBytes, "Content exceeds");
        RuleFor(t => t.Name)
            .Must(name => name is null || Identifiers.IsValidName(name)).WithMessage($"A name is {Identifiers.NameRule}.");
        RuleFor(t => t.Metadata).Metadata(limits);
    }

    /// <summary>The turns of a batch whose (valid) id an earlier turn of it already has, with that turn's index.</summary>
    public static IEnumerable<(int Index, string Id, int First)> RepeatedIds(IReadOnlyList<string?> ids)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < ids.Count; i++)
        {
            if (ids[i] is { } id && Identifiers.IsValid(id) && !seen.TryAdd(id, i))
            {
                yield return (i, id, seen[id]);
            }
        }
    }
}
