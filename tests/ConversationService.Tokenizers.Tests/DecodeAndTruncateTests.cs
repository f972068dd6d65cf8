using System.Buffers;

namespace ConversationService.Tokenizers.Tests;

public sealed class DecodeAndTruncateTests
{
    public static TheoryData<string> Encodings => [.. GoldenCorpus.Encodings];

    [Fact]
    public void Given_a_text_When_cut_at_two_tokens_Then_the_index_ends_the_second_token()
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o"); // "Hello" "," " world" "!"

        var index = tokenizer.GetIndexByTokenCount("Hello, world!", 2, out _, out var count);

        Assert.Equal(6, index);
        Assert.Equal(2, count);
    }

    [Fact]
    public void Given_a_budget_above_the_text_When_cut_Then_the_whole_text_is_kept()
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");

        Assert.Equal(13, tokenizer.GetIndexByTokenCount("Hello, world!", 100, out _, out var count));
        Assert.Equal(4, count);
        Assert.Equal(0, tokenizer.GetIndexByTokenCount("Hello, world!", 0, out _, out var none));
        Assert.Equal(0, none);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_golden_texts_When_cut_at_every_budget_Then_the_prefix_fits_and_one_more_token_would_not(string encoding)
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);

        foreach (var golden in GoldenCorpus.Instance.Texts.Where(t => t.Text.Length is > 0 and < 200).Take(300))
        {
            var total = golden.Ids[encoding].Length;
            var previous = 0;
            for (var budget = 0; budget <= total; budget++)
            {
                var index = tokenizer.GetIndexByTokenCount(golden.Text, budget, out _, out var count);

                Assert.True(count <= budget);
                Assert.Equal(count, tokenizer.CountTokens(golden.Text.AsSpan(0, index)));
                Assert.True(index >= previous, "a larger budget never keeps less text");
                Assert.False(index > 0 && char.IsHighSurrogate(golden.Text[index - 1]), "never cut a surrogate pair");
                previous = index;
            }

            Assert.Equal(golden.Text.Length, tokenizer.GetIndexByTokenCount(golden.Text, total, out _, out var all));
            Assert.Equal(total, all);
        }
    }

    [Fact]
    public void Given_a_character_spanning_two_tokens_When_cut_Then_the_character_is_not_split()
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4"); // cl100k needs several byte tokens for this emoji
        const string text = "🦜🦜🦜";
        Assert.True(tokenizer.CountTokens("🦜") > 1);

        var index = tokenizer.GetIndexByTokenCount(text, tokenizer.CountTokens("🦜") + 1, out _, out var count);

        Assert.Equal(2, index);
        Assert.Equal(tokenizer.CountTokens("🦜"), count);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_special_token_ids_When_decoded_Then_they_read_as_their_markers(string encoding)
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);
        var endOfText = encoding == "o200k_base" ? 199999 : 100257;

        Assert.Equal("a<|endoftext|>", tokenizer.Decode([.. tokenizer.EncodeToIds("a"), endOfText]));
        Assert.NotEqual([endOfText], tokenizer.EncodeToIds("<|endoftext|>"));
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_an_id_outside_the_vocabulary_When_decoded_Then_it_is_rejected(string encoding)
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);

        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([1, -1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([300_000]));
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_golden_texts_When_cut_from_the_end_at_every_budget_Then_the_suffix_fits_and_grows_with_the_budget(string encoding)
    {
        Microsoft.ML.Tokenizers.Tokenizer tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);

        foreach (var golden in GoldenCorpus.Instance.Texts.Where(t => t.Text.Length is > 0 and < 200).Take(300))
        {
            var total = golden.Ids[encoding].Length;
            var previous = golden.Text.Length;
            for (var budget = 0; budget <= total; budget++)
            {
                var index = tokenizer.GetIndexByTokenCountFromEnd(golden.Text, budget, out var normalized, out var count);

                Assert.Null(normalized);
                Assert.True(count <= budget);
                Assert.Equal(count, tokenizer.CountTokens(golden.Text.AsSpan(index)));
                Assert.True(index <= previous, "a larger budget never keeps less text");
                Assert.False(index > 0 && index < golden.Text.Length && char.IsLowSurrogate(golden.Text[index]), "never cut a surrogate pair");
                previous = index;
            }

            Assert.Equal(0, tokenizer.GetIndexByTokenCountFromEnd(golden.Text, total, out _, out var all));
            Assert.Equal(total, all);
        }
    }

    [Fact]
    public void Given_a_character_that_needs_two_tokens_When_encoded_to_tokens_Then_both_cover_the_character()
    {
        Microsoft.ML.Tokenizers.Tokenizer tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4"); // "⭐" is two tokens in cl100k

        var tokens = tokenizer.EncodeToTokens("a ⭐!", out var normalized);

        Assert.Null(normalized);
        Assert.Equal(tokenizer.EncodeToIds("a ⭐!"), tokens.Select(t => t.Id));
        // " " and the star's first byte, then its last two bytes: each token covers the characters its bytes touch.
        Assert.Equal(["a", " ⭐", "⭐", "!"], tokens.Select(t => t.Value));
        Assert.Equal([0..1, 1..3, 2..3, 3..4], tokens.Select(t => t.Offset));
    }

    [Fact]
    public void Given_a_token_limit_inside_a_character_When_encoded_Then_the_character_is_left_out_whole()
    {
        Microsoft.ML.Tokenizers.Tokenizer tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4");
        var all = tokenizer.EncodeToIds("a ⭐!");

        var ids = tokenizer.EncodeToIds("a ⭐!", 2, out _, out var consumed);

        Assert.Equal(all.Take(1), ids);
        Assert.Equal(1, consumed);
        Assert.Equal(all.Take(3), tokenizer.EncodeToIds("a ⭐!", 3, out _, out var withStar));
        Assert.Equal(3, withStar);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_golden_ids_When_decoded_into_a_span_Then_the_text_comes_back_or_the_span_is_reported_too_small(string encoding)
    {
        Microsoft.ML.Tokenizers.Tokenizer tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);

        foreach (var golden in GoldenCorpus.Instance.Texts.Take(200))
        {
            var ids = golden.Ids[encoding];
            var destination = new char[golden.Text.Length];

            Assert.Equal(OperationStatus.Done, tokenizer.Decode(ids, destination, out var consumed, out var written));
            Assert.Equal(ids.Length, consumed);
            Assert.Equal(golden.Text, new string(destination, 0, written));
            if (golden.Text.Length > 1)
            {
                Assert.Equal(OperationStatus.DestinationTooSmall, tokenizer.Decode(ids, new char[golden.Text.Length - 1], out consumed, out written));
                Assert.True(consumed < ids.Length);
                Assert.Equal(golden.Text[..written], tokenizer.Decode(ids.Take(consumed)));
            }
        }
    }

    [Fact]
    public void Given_ids_that_end_inside_a_character_or_leave_the_vocabulary_When_decoded_into_a_span_Then_the_status_says_so()
    {
        Microsoft.ML.Tokenizers.Tokenizer tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4");
        var ids = tokenizer.EncodeToIds("a ⭐");
        var destination = new char[16];

        Assert.Equal(OperationStatus.NeedMoreData, tokenizer.Decode(ids.Take(ids.Count - 1), destination, out var consumed, out var written));
        Assert.Equal((1, "a"), (consumed, new string(destination, 0, written)));
        Assert.Equal(OperationStatus.InvalidData, tokenizer.Decode([.. ids, 300_000], destination, out consumed, out _));
        Assert.Equal(ids.Count, consumed);
    }
}
