using ConversationService.Relevance;
using Microsoft.Extensions.AI;

namespace ConversationService.Embeddings;

/// <summary>Loads the local model; replaced in tests to make loading fail for real (a corrupt graph).</summary>
public delegate ArcticModel LoadArcticModel();

/// <summary>
/// The embedder this replica runs with, decided once at start from <c>Embeddings:Provider</c>. <paramref name="Stored"/>:
/// vectors are computed off the request path by <see cref="EmbeddingProjection"/> and read back (the local model and a
/// provider); otherwise they are computed where needed (the lexical hash, cheaper than a read). <paramref name="Remote"/>:
/// calls are priced and recorded for <c>GET /usage</c>. <paramref name="QueryOptions"/>: what a query is embedded with,
/// null when the model embeds queries and documents alike. <paramref name="Fusion"/>: how ranking fuses its cosine with
/// BM25 (a provider's are not measured: it gets the lexical hash's, as before the local model).
/// </summary>
public sealed record EmbeddingModel(
    IEmbeddingGenerator<string, Embedding<float>> Generator, string Id, bool Stored, bool Remote, EmbeddingGenerationOptions? QueryOptions,
    FusionWeights Fusion)
{
    /// <summary>
    /// The local model, loaded now (its id names the stored vectors and the projection); when it cannot load, a warning
    /// (the exception's type and message, no content) and the lexical hash.
    /// </summary>
    public static EmbeddingModel Create(
        EmbeddingOptions options, Func<IEmbeddingGenerator<string, Embedding<float>>> provider, LoadArcticModel load, ILogger logger)
    {
        if (options.IsOpenAi)
        {
            return new(provider(), options.StorageModelId, Stored: true, Remote: true, QueryOptions: null, FusionWeights.LexicalHash);
        }
        if (options.IsLocalModel)
        {
            try
            {
                var model = load();
                return new(new ArcticEmbeddingGenerator(model, Environment.ProcessorCount), options.StorageModelId, Stored: true,
                    Remote: false, EmbeddingPurpose.Query(), ArcticModel.Fusion);
            }
            catch (Exception e)
            {
                logger.LogWarning("The local embedding model {Model} could not be loaded, falling back to {Fallback}: {Error}: {Message}",
                    ArcticModel.Id, LexicalEmbeddingGenerator.ModelId, e.GetType().Name, e.Message);
                return Lexical(LexicalEmbeddingGenerator.DefaultDimensions, LexicalEmbeddingGenerator.ModelId);
            }
        }
        return Lexical(options.Dimensions ?? LexicalEmbeddingGenerator.DefaultDimensions, options.StorageModelId);
    }

    private static EmbeddingModel Lexical(int dimensions, string id) =>
        new(new LexicalEmbeddingGenerator(dimensions), id, Stored: false, Remote: false, QueryOptions: null, FusionWeights.LexicalHash);
}
