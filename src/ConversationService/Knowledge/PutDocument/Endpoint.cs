using System.Text.Json;
using ConversationService.Conversations;
using ConversationService.Hosting;
using ConversationService.Storage;
using FastEndpoints;

namespace ConversationService.Knowledge.PutDocument;

/// <summary>
/// PUT /collections/{collection}/documents/{docId}: store or replace a document (201 created, 200 replaced or
/// unchanged). It is chunked here, once; the chunks are embedded off the request path.
/// </summary>
public sealed class Endpoint(GroupCommit commits, KnowledgeQueries queries, ModelTokenizers tokenizers, TimeProvider time)
    : Endpoint<Request, GetDocument.Response>
{
    public override void Configure()
    {
        Put("/collections/{collection}/documents/{docId}");
        Description(b => b.WithName("PutDocument").WithTags("Knowledge")
            .Produces<GetDocument.Response>(StatusCodes.Status201Created).ProducesWriteProblems());
        Summary(s => s.Summary =
            "Store a knowledge document (201) or replace it (200); it is split into chunks of about 200-400 tokens.");
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var (collection, docId, text) = (request.Collection, request.DocId, request.Text!);
        var metadata = request.Metadata is { ValueKind: JsonValueKind.Object } ? request.Metadata : null;
        // Chunked once, before the write (which may be decided again when another writer got there first).
        var tokenizer = tokenizers.ForEncoding(DocumentStream.Encoding);
        var indexed = new DocumentIndexed(
            collection, docId, text, metadata, tokenizer.CountTokens(text), Chunker.Split(text, tokenizer), time.GetUtcNow());

        var tenant = User.Tenant();
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
            await Send.ResultAsync(Problems.Busy(docId));
        }
        else if (await GetDocument.Response.LoadAsync(tenant, collection, docId, queries, ct) is { } response)
        {
            await Send.ResponseAsync(response, status, ct);
        }
        else
        {
            await Send.ResultAsync(request.NotFound()); // deleted by a concurrent request right after this one
        }
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
