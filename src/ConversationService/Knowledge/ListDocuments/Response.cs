using System.Text.Json.Serialization;

namespace ConversationService.Knowledge.ListDocuments;

/// <summary><see cref="NextAfter"/> is the <c>after</c> of the next page, absent on the last page.</summary>
public sealed record Response(
    string Collection, IReadOnlyList<DocumentSummary> Documents,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? NextAfter);
