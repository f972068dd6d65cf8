using System.Security.Claims;
using System.Text.Json;
using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Storage;
using Microsoft.Extensions.Options;

namespace ConversationService.Knowledge;

/// <summary>
/// PUT /collections/{collection}/documents/{docId}: store or replace a document (201 created, 200 replaced or
/// unchanged). It is chunked here, once; the chunks are embedded off the request path.
/// </summary>
public static class PutDocument
{
    public sealed record Request(string? Text, JsonElement? Metadata);

    public static RouteHandlerBuilder MapPutDocument(this RouteGroupBuilder group) =>
        group.MapPut("/{collection}/documents/{docId}", HandleAsync)
            .WithName("PutDocument")
            .WithSummary("Store a knowledge document (201) or replace it (200); it is split into chunks of about 200-400 tokens.")
            .Produces<GetDocument.Response>(StatusCodes.Status201Created)
            .Produces<GetDocument.Response>()
            .ProducesWriteProblems();

    private static async Task<IResult> HandleAsync(
        string collection, string docId, Request request, ClaimsPrincipal user, GroupCommit commits,
        KnowledgeQueries queries, ModelTokenizers tokenizers, IOptions<LimitsOptions> limits, TimeProvider time,
        CancellationToken ct)
    {
        var errors = new List<FieldError>();
        LibraryValidation.Id(errors, "collection", collection);
        LibraryValidation.Id(errors, "docId", docId);
        LibraryValidation.Text(errors, "text", request.Text, limits.Value);
        LibraryValidation.Metadata(errors, request.Metadata, limits.Value);
        if (errors.Count > 0)
        {
            return LibraryValidation.Problem(errors);
        }
        var text = request.Text!;
        var metadata = request.Metadata is { ValueKind: JsonValueKind.Object } ? request.Metadata : null;
        // Chunked once, before the write (which may be decided again when another writer got there first).
        var tokenizer = tokenizers.ForEncoding(DocumentStream.Encoding);
        var indexed = new DocumentIndexed(
            collection, docId, text, metadata, tokenizer.CountTokens(text), Chunker.Split(text, tokenizer), time.GetUtcNow());

        var tenant = user.Tenant();
        var stream = DocumentStream.Id(collection, docId);
        var status = 0;
        for (var attempt = 0; attempt < ConversationWriter.MaxAttempts && status == 0; attempt++)
        {
            var (existing, version) = await queries.GetForWriteAsync(tenant, collection, docId, ct);
            // Stored only if nobody wrote the document meanwhile; otherwise decided again on what they wrote.
            if (IsUnchanged(existing, text, metadata)
                || await commits.AppendAsync(new StreamAppend(tenant, stream, version, [indexed]), ct))
            {
                status = existing is null ? StatusCodes.Status201Created : StatusCodes.Status200OK;
            }
        }
        if (status == 0)
        {
            return Problems.Busy(docId);
        }
        return await GetDocument.LoadAsync(tenant, collection, docId, queries, ct) is { } response
            ? TypedResults.Json(response, statusCode: status)
            : KnowledgeInput.NotFound(collection, docId); // deleted by a concurrent request right after this one
    }

    /// <summary>The same text and metadata again stores nothing, so retries and re-syncs cost no re-embedding.</summary>
    public static bool IsUnchanged(KnowledgeDocument? existing, string text, JsonElement? metadata) =>
        existing is not null && existing.Text == text
        && (existing.Metadata, metadata) switch
        {
            (null, null) => true,
            ({ } stored, { } given) => JsonElement.DeepEquals(stored, given),
            _ => false,
        };
}
