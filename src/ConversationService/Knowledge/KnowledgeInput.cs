namespace ConversationService.Knowledge;

/// <summary>The collection and document id checks every knowledge endpoint starts with.</summary>
public static class KnowledgeInput
{
    /// <summary>A 400 naming the invalid path field(s), or null.</summary>
    public static IResult? Key(string collection, string? docId)
    {
        var errors = new List<Hosting.FieldError>();
        LibraryValidation.Id(errors, "collection", collection);
        if (docId is not null)
        {
            LibraryValidation.Id(errors, "docId", docId);
        }
        return errors.Count > 0 ? LibraryValidation.Problem(errors) : null;
    }

    public static IResult NotFound(string collection, string docId) => LibraryValidation.NotFound(
        "Document not found", $"No document '{docId}' in collection '{collection}' exists for this API key.");
}
