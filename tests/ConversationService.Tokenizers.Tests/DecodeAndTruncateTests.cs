namespace ConversationService.Tokenizers.Tests;

public sealed class DecodeAndTruncateTests
{
    public static TheoryData<string> Encodings => [.. GoldenCorpus.Encodings];

    [Fact]
    public void Given_a_text_When_cut_at_two_tokens_Then_the_index_ends_the_second_token()
    {
        var tokenizer = TiktokenTokenizer.CreateForModel("gpt-4o"); // "Hello" "," " world" "!"

        var index = tokenizer.GetIndexByTokenCount("Hello, world!", 2, out var count);

        Assert.Equal(6, index);
        Assert.Equal(2, count);
    }

    [Fact]
    public void Given_a_budget_above_the_text_When_cut_Then_the_whole_text_is_kept()
    {
        var tokenizer = TiktokenTokenizer.CreateForModel("gpt-4o");

        Assert.Equal(13, tokenizer.GetIndexByTokenCount("Hello, world!", 100, out var count));
        Assert.Equal(4, count);
        Assert.Equal(0, tokenizer.GetIndexByTokenCount("Hello, world!", 0, out var none));
        Assert.Equal(0, none);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_golden_texts_When_cut_at_every_budget_Then_the_prefix_fits_and_one_more_token_would_not(string encoding)
    {
        var tokenizer = TiktokenTokenizer.CreateForEncoding(encoding);

        foreach (var golden in GoldenCorpus.Instance.Texts.Where(t => t.Text.Length is > 0 and < 200).Take(300))
        {
            var total = golden.Ids[encoding].Length;
            var previous = 0;
            for (var budget = 0; budget <= total; budget++)
            {
                var index = tokenizer.GetIndexByTokenCount(golden.Text, budget, out var count);

                Assert.True(count <= budget);
                Assert.Equal(count, tokenizer.CountTokens(golden.Text.AsSpan(0, index)));
                Assert.True(index >= previous, "a larger budget never keeps less text");
                Assert.False(index > 0 && char.IsHighSurrogate(golden.Text[index - 1]), "never cut a surrogate pair");
                previous = index;
            }

            Assert.Equal(golden.Text.Length, tokenizer.GetIndexByTokenCount(golden.Text, total, out var all));
            Assert.Equal(total, all);
        }
    }

    [Fact]
    public void Given_a_character_spanning_two_tokens_When_cut_Then_the_character_is_not_split()
    {
        var tokenizer = TiktokenTokenizer.CreateForModel("gpt-4"); // cl100k needs several byte tokens for this emoji
        const string text = "🦜🦜🦜";
        Assert.True(tokenizer.CountTokens("🦜") > 1);

        var index = tokenizer.GetIndexByTokenCount(text, tokenizer.CountTokens("🦜") + 1, out var count);

        Assert.Equal(2, index);
        Assert.Equal(tokenizer.CountTokens("🦜"), count);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_special_token_ids_When_decoded_Then_they_read_as_their_markers(string encoding)
    {
        var tokenizer = TiktokenTokenizer.CreateForEncoding(encoding);
        var endOfText = encoding == "o200k_base" ? 199999 : 100257;

        Assert.Equal("a<|endoftext|>", tokenizer.Decode([.. tokenizer.EncodeToIds("a"), endOfText]));
        Assert.NotEqual([endOfText], tokenizer.EncodeToIds("<|endoftext|>"));
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_an_id_outside_the_vocabulary_When_decoded_Then_it_is_rejected(string encoding)
    {
        var tokenizer = TiktokenTokenizer.CreateForEncoding(encoding);

        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([1, -1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([300_000]));
    }
}
