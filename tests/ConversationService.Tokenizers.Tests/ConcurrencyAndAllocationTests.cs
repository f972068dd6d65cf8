using System.Runtime;

namespace ConversationService.Tokenizers.Tests;

/// <summary>
/// Alone, after the parallel tests: a full GC caused by another test lets the shared ArrayPool trim buffers that a
/// warmed tokenizer rents, and the next rent would then allocate one.
/// </summary>
[Collection(Name)]
public sealed class ConcurrencyAndAllocationTests
{
    public const string Name = "alone";

    public static TheoryData<string> Encodings => [.. GoldenCorpus.Encodings];

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_many_threads_When_counting_the_same_texts_Then_every_count_equals_tiktoken(string encoding)
    {
        // A fresh instance would share nothing with other tests; the shared one is what the service uses.
        var tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);
        var texts = GoldenCorpus.Instance.Texts;
        var failures = 0;

        Parallel.For(0, texts.Count * 4, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var golden = texts[(i * 7919) % texts.Count];
            if (tokenizer.CountTokens(golden.Text) != golden.Ids[encoding].Length
                || !tokenizer.EncodeToIds(golden.Text).SequenceEqual(golden.Ids[encoding]))
            {
                Interlocked.Increment(ref failures);
            }
        });

        Assert.Equal(0, failures);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_a_warmed_tokenizer_When_counting_Then_no_memory_is_allocated(string encoding)
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);
        // Chat turns as the service counts them; the golden texts include pre-tokens of hundreds of bytes, which take
        // the pooled heap merge.
        var texts = GoldenCorpus.Instance.Conversation.Select(t => t.Text).Concat(GoldenCorpus.Instance.Texts.Select(t => t.Text)).ToArray();
        long allocated;
        var total = 0;
        // No GC from warm-up to the end, so the pool cannot trim in between; the region may start with a full GC,
        // after which the pool trims on the finalizer thread, so that is waited for before warming up.
        Assert.True(GC.TryStartNoGCRegion(128 * 1024 * 1024));
        try
        {
            GC.WaitForPendingFinalizers();
            foreach (var text in texts)
            {
                tokenizer.CountTokens(text);
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var text in texts)
            {
                total += tokenizer.CountTokens(text);
            }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(GCSettings.LatencyMode == GCLatencyMode.NoGCRegion, "A GC ran during the measurement.");
        }
        finally
        {
            if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                GC.EndNoGCRegion();
            }
        }

        Assert.True(total > 0);
        Assert.Equal(0, allocated);
    }
}

[CollectionDefinition(ConcurrencyAndAllocationTests.Name, DisableParallelization = true)]
public sealed class AloneCollection;
