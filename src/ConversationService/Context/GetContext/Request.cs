using FastEndpoints;

namespace ConversationService.Context.GetContext;

/// <summary>What a context request asks for: from the query string (GET) or the JSON body (POST).</summary>
public record Request
{
    [BindFrom("id"), RouteParam]
    public string ConversationId { get; set; } = "";

    public int? Budget { get; set; }
    public string? Model { get; set; }
    public string? Query { get; set; }
    public int? Reserve { get; set; }
    public int? Examples { get; set; }
    public string? Task { get; set; }
    public string? Collections { get; set; }
    public double? RecentShare { get; set; }
    public double? SummaryShare { get; set; }
    public double? KnowledgeShare { get; set; }
    public double? ExamplesShare { get; set; }

    public ContextShares Shares() => new(
        RecentShare ?? ContextShares.Default.Recent, SummaryShare ?? ContextShares.Default.Summary,
        KnowledgeShare ?? ContextShares.Default.Knowledge, ExamplesShare ?? ContextShares.Default.Examples);

    // Spaces around a name are forgiven ("a, b"); any other character outside the id rule makes the list invalid.
    public static string[] CollectionNames(string collections) =>
        [.. collections.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(n => n.Trim(' ')).Where(n => n.Length > 0)];

    /// <summary>The parameters alone, for the response cache's key: a POST asks what the same GET asks.</summary>
    public Request Parameters() => GetType() == typeof(Request) ? this : new Request(this);
}

/// <summary>POST: the parameters of GET plus <see cref="Candidates"/>, the RAG chunks of the caller's own retriever.</summary>
public sealed record PostRequest : Request
{
    public const int MaxCandidates = 100;
    public const int MaxCandidateBytes = 32_768;
    public const int MaxCandidateIdLength = 256;

    public IReadOnlyList<Candidate?>? Candidates { get; set; }
}

public sealed record Candidate(string? Id, string? Text);
