namespace ConversationService.Client;

/// <summary>
/// The parameters of a context request. Null leaves a parameter to the service's default. With
/// <see cref="Candidates"/> the request is a POST (the caller's own RAG chunks, relevance-filtered and packed).
/// </summary>
public sealed record ContextRequest
{
    public int? Budget { get; init; }
    public string? Model { get; init; }
    public string? Query { get; init; }
    public int? Reserve { get; init; }
    public int? Examples { get; init; }
    public string? Task { get; init; }
    /// <summary>Knowledge collections to search, comma-separated on the wire.</summary>
    public string? Collections { get; init; }
    public double? RecentShare { get; init; }
    public double? SummaryShare { get; init; }
    public double? KnowledgeShare { get; init; }
    public double? ExamplesShare { get; init; }
    public IReadOnlyList<ContextCandidate>? Candidates { get; init; }
}

public sealed record ContextCandidate(string Id, string Text);

/// <summary>
/// The messages to send to the model: <see cref="Tokens"/> is their exact prompt-token count in the chat format of
/// <see cref="Model"/>, at most <see cref="Budget"/> - <see cref="Reserve"/>.
/// </summary>
public sealed record ContextWindow(
    string ConversationId, long Version, string Model, string Encoding, int Budget, int Reserve, int Tokens,
    long FullHistoryTokens, IReadOnlyList<ContextMessage> Messages, IReadOnlyList<ContextSection> Sections);

public sealed record ContextMessage(string Role, string Content, string? Name = null);

/// <summary><see cref="Kind"/>: system, summary, recalled, knowledge, examples or recent.</summary>
public sealed record ContextSection(string Kind, int Tokens, IReadOnlyList<ContextSectionItem> Items);

public sealed record ContextSectionItem(string Id, double? Score);

/// <summary>POST /tokenize: exactly one of <see cref="Text"/> and <see cref="Messages"/>.</summary>
public sealed record TokenizeRequest(string Model, string? Text = null, IReadOnlyList<ContextMessage>? Messages = null);

public sealed record TokenCount(string Model, string Encoding, int Tokens);
