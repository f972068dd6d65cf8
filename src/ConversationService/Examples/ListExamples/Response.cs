using System.Text.Json.Serialization;

namespace ConversationService.Examples.ListExamples;

/// <summary><see cref="NextAfter"/> is the <c>after</c> of the next page, absent on the last page.</summary>
public sealed record Response(
    IReadOnlyList<GetExample.Response> Examples,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? NextAfter);
