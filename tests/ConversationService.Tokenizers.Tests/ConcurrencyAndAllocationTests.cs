namespace ConversationService.Tokenizers.Tests;

public sealed class ConcurrencyAndAllocationTests
{
    public static TheoryData<string> Encodings => [.. GoldenCorpus.Encodings];

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_many_threads_When_counting_the_same_texts_Then_every_count_equals_tiktoken(string encoding)
    {
        // A fresh instance would share nothing with other tests; the shared one is what the service uses.
        var tokenizer = TiktokenTokenizer.CreateForEncoding(encoding);
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
        var tokenizer = TiktokenTokenizer.CreateForEncoding(encoding);
        // The golden texts include pre-tokens of hundreds of bytes, which take the pooled heap merge.
        var texts = LocomoData.Contents.Values.Concat(GoldenCorpus.Instance.Texts.Select(t => t.Text)).ToArray();
        foreach (var text in texts)
        {
            tokenizer.CountTokens(text);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        var total = 0;
        foreach (var text in texts)
        {
            total += tokenizer.CountTokens(text);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(total > 0);
        Assert.Equal(0, allocated);
    }
}
