using ConversationService.Knowledge;
using ConversationService.Tokenizers;
using Xunit.Abstractions;

namespace ConversationService.Tests.Knowledge;

public sealed class ChunkerTests(ITestOutputHelper output)
{
    private static readonly ExactTiktokenTokenizer Tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");

    private static string Sentence(int i) =>
        $"Sentence {i} says that the team in office {i % 7} shipped release {i}.{i % 10} on day {i} of the project.";

    private static string Text(IReadOnlyList<DocumentChunk> chunks, string text, int i) => text.Substring(chunks[i].Start, chunks[i].Length);

    [Fact]
    public void Given_a_short_text_When_split_Then_it_is_one_trimmed_chunk_with_its_exact_token_count()
    {
        const string text = "  Lisbon has seven hills. Alfama is the oldest district.\n";

        var chunk = Assert.Single(Chunker.Split(text, Tokenizer));

        Assert.Equal("Lisbon has seven hills. Alfama is the oldest district.", text.Substring(chunk.Start, chunk.Length));
        Assert.Equal(Tokenizer.CountTokens("Lisbon has seven hills. Alfama is the oldest district."), chunk.Tokens);
    }

    [Fact]
    public void Given_many_sentences_When_split_Then_chunks_hold_200_to_400_tokens_of_whole_sentences_and_lose_no_text()
    {
        var text = string.Join(" ", Enumerable.Range(1, 200).Select(Sentence));

        var chunks = Chunker.Split(text, Tokenizer);

        Assert.True(chunks.Count >= 10, $"{chunks.Count} chunks");
        for (var i = 0; i < chunks.Count; i++)
        {
            var chunkText = Text(chunks, text, i);
            Assert.Equal(Tokenizer.CountTokens(chunkText), chunks[i].Tokens);
            Assert.InRange(chunks[i].Tokens, i == chunks.Count - 1 ? 1 : Chunker.MinTokens, Chunker.MaxTokens);
            Assert.StartsWith("Sentence ", chunkText, StringComparison.Ordinal);
            Assert.EndsWith("of the project.", chunkText, StringComparison.Ordinal);
        }
        Assert.Equal(text, string.Join(" ", chunks.Select((_, i) => Text(chunks, text, i))));
    }

    [Fact]
    public void Given_one_sentence_longer_than_the_maximum_When_split_Then_it_is_cut_at_token_boundaries_into_pieces_that_fit()
    {
        var sentence = string.Join(" ", Enumerable.Range(1, 700).Select(i => $"word{i}")) + ".";
        var text = "A short opener. " + sentence + " A short closer.";

        var chunks = Chunker.Split(text, Tokenizer);

        Assert.All(chunks, c => Assert.InRange(c.Tokens, 1, Chunker.MaxTokens));
        Assert.Equal("A short opener.", Text(chunks, text, 0));
        Assert.True(chunks.Count >= 4, $"{chunks.Count} chunks");
        Assert.Equal(text.Replace(" ", "", StringComparison.Ordinal),
            string.Concat(chunks.Select((_, i) => Text(chunks, text, i))).Replace(" ", "", StringComparison.Ordinal));
    }

    [Fact]
    public void Given_a_short_tail_When_split_Then_it_joins_the_chunk_before_it_when_both_fit()
    {
        // Five sentences of about 12 tokens: a chunk closes after four (past the middle of the range), one is left.
        var text = string.Join(" ", Enumerable.Range(1, 5).Select(i => $"The courier {i} delivered parcel {i} to the north gate."));

        var merged = Chunker.Split(text, Tokenizer, minTokens: 20, maxTokens: 70);
        var kept = Chunker.Split(text, Tokenizer, minTokens: 10, maxTokens: 80);

        Assert.Single(merged);
        Assert.Equal(text, Text(merged, text, 0));
        Assert.Equal(2, kept.Count);
        Assert.Equal("The courier 5 delivered parcel 5 to the north gate.", Text(kept, text, 1));
    }

    [Fact]
    public void Given_punctuation_and_line_breaks_When_sentences_are_found_Then_decimals_do_not_split_and_whitespace_leads()
    {
        const string text = "Version 3.5 shipped. Did it work? \"Yes!\" she said.\nNext line";

        var sentences = Chunker.Sentences(text).Select(r => text[r.Start..r.End]).ToArray();

        Assert.Equal(["Version 3.5 shipped.", " Did it work?", " \"Yes!\"", " she said.", "\nNext line"], sentences);
    }

    [Fact]
    public void Given_a_document_at_the_content_limit_When_split_Then_every_chunk_fits_and_time_stays_linear()
    {
        var builder = new System.Text.StringBuilder();
        for (var i = 1; builder.Length < 1_000_000; i++)
        {
            builder.Append(Sentence(i)).Append(' ');
        }
        var text = builder.ToString();
        Chunker.Split(text[..10_000], Tokenizer);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var chunks = Chunker.Split(text, Tokenizer);
        clock.Stop();

        output.WriteLine($"1 MB document: {chunks.Count} chunks in {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.All(chunks, c => Assert.InRange(c.Tokens, 1, Chunker.MaxTokens));
        // About 0.3 s on an idle core; the bound only catches a quadratic regression on a busy shared machine.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{clock.Elapsed}");
    }
}
