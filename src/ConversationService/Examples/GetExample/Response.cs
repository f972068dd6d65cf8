using System.Text.Json.Serialization;

namespace ConversationService.Examples.GetExample;

public sealed record Response(
    string Id, string Input, string Output, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Task,
    long Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static Response From(ExampleView row) =>
        new(row.Id, row.Input, row.Output, row.Task, row.Version, row.CreatedAt, row.UpdatedAt);
}
