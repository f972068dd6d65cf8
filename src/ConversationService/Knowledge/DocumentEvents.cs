using System.Text.Json;
using ConversationService.Storage;

namespace ConversationService.Knowledge;

// Facts about one knowledge document (a stream per document). Stored as JSON, so fields are only ever added.

/// <summary>The document's text as of now, and how it was chunked (ranges of <see cref="Text"/>, o200k tokens).</summary>
public sealed record DocumentIndexed(
    string Collection, string DocumentId, string Text, JsonElement? Metadata, int Tokens,
    IReadOnlyList<DocumentChunk> Chunks, DateTimeOffset IndexedAt) : IErasable
{
    /// <summary>No text, so no chunks (they are ranges of the text).</summary>
    public object Erased() => this with { Text = "", Metadata = null, Chunks = [] };
}

public sealed record DocumentDeleted(string Collection, string DocumentId, DateTimeOffset DeletedAt);

public static class DocumentStream
{
    /// <summary>Chunk token counts are in o200k_base, the encoding of the current OpenAI chat models.</summary>
    public const string Encoding = "o200k_base";

    // A '/' never occurs in a conversation id, so these stream ids cannot meet a conversation's.
    public static string Id(string collection, string documentId) => $"knowledge/{collection}/{documentId}";

    public static string ChunkId(string documentId, int n) => $"{documentId}#{n}";

    public static string ChunkText(DocumentIndexed indexed, DocumentChunk chunk) => indexed.Text.Substring(chunk.Start, chunk.Length);
}
