using ConversationService.Storage;

namespace ConversationService.Examples;

// Facts about one few-shot example (a stream per example). Stored as JSON, so fields are only ever added.

public sealed record ExampleSaved(string ExampleId, string Input, string Output, string? Task, DateTimeOffset SavedAt) : IErasable
{
    public object Erased() => this with { Input = "", Output = "" };
}

public sealed record ExampleDeleted(string ExampleId, DateTimeOffset DeletedAt);

public static class ExampleStream
{
    // A '/' never occurs in a conversation id, so these stream ids cannot meet a conversation's.
    public static string Id(string exampleId) => "example/" + exampleId;
}
