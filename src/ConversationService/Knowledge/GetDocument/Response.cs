using System.Text.Json;
using System.Text.Json.Serialization;

namespace ConversationService.Knowledge.GetDocument;

public sealed record Response(
    string Collection, string Id, string Text,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Metadata,
    int Tokens, long Version, IReadOnlyList<Chunk> Chunks, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static async Task<Response?> LoadAsync(
        string tenant, string collection, string docId, KnowledgeQueries queries, CancellationToken ct) =>
        await queries.GetDocumentAsync(tenant, collection, docId, ct) is { } document
            ? new Response(
                document.Collection, document.DocumentId, document.Text, document.Metadata, document.Tokens,
                document.Version, [.. document.ToChunks().Select(c => new Chunk(c.Id, c.Tokens))], document.CreatedAt,
                document.UpdatedAt)
            : null;
}

public sealed record Chunk(string Id, int Tokens);
