namespace ConversationService.Tokenizers.Tests;

public sealed class GoldenParityTests
{
    public static TheoryData<string> Encodings => [.. GoldenCorpus.Encodings];

    [Fact]
    public void Given_the_golden_file_When_loaded_Then_it_holds_at_least_2000_texts_with_conversation_turns()
    {
        var corpus = GoldenCorpus.Instance;

        Assert.True(corpus.Texts.Count + corpus.LoneSurrogates.Count + corpus.Conversation.Count >= 2000);
        Assert.True(corpus.Conversation.Count >= 2700);
        Assert.Contains(corpus.Texts, t => t.Text.Length == 0);
        // Of the character of chat turns: emoji, numbers and captions in a good share of them, none empty.
        Assert.DoesNotContain(corpus.Conversation, t => t.Text.Length == 0);
        Assert.True(corpus.Conversation.Count(t => t.Text.Any(char.IsSurrogate)) >= 500);
        Assert.True(corpus.Conversation.Count(t => t.Text.Any(char.IsAsciiDigit)) >= 1000);
        Assert.True(corpus.Conversation.Count(t => t.Text.Contains(" [shares a photo: ", StringComparison.Ordinal)) >= 400);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_hand_written_and_fuzz_texts_When_encoded_Then_ids_equal_tiktoken(string encoding)
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);

        var mismatches = GoldenCorpus.Instance.Texts
            .Where(t => !tokenizer.EncodeToIds(t.Text).SequenceEqual(t.Ids[encoding]))
            .Select(t => Describe(t.Text, tokenizer.EncodeToIds(t.Text), t.Ids[encoding]))
            .ToList();

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches:\n" + string.Join("\n", mismatches.Take(20)));
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_golden_texts_When_counted_Then_count_equals_tiktoken_id_count(string encoding)
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);

        foreach (var golden in GoldenCorpus.Instance.Texts.Concat(GoldenCorpus.Instance.LoneSurrogates))
        {
            Assert.Equal(golden.Ids[encoding].Length, tokenizer.CountTokens(golden.Text));
            Assert.Equal(golden.Ids[encoding].Length, tokenizer.CountTokens(golden.Text.AsSpan()));
        }
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_lone_surrogates_When_encoded_Then_they_count_as_replacement_characters_like_the_js_binding(string encoding)
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);

        foreach (var golden in GoldenCorpus.Instance.LoneSurrogates)
        {
            Assert.Equal(golden.Ids[encoding], tokenizer.EncodeToIds(golden.Text));
        }
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_valid_text_When_encoded_and_decoded_Then_the_text_round_trips(string encoding)
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);

        foreach (var golden in GoldenCorpus.Instance.Texts)
        {
            Assert.Equal(golden.Text, tokenizer.Decode(tokenizer.EncodeToIds(golden.Text)));
        }
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_conversation_turns_When_encoded_Then_count_and_id_hash_equal_tiktoken_and_the_text_round_trips(string encoding)
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);

        var mismatches = new List<string>();
        foreach (var turn in GoldenCorpus.Instance.Conversation)
        {
            if (Mismatch(tokenizer, turn.Text, turn.Expected[encoding]) is { } mismatch)
            {
                mismatches.Add($"{System.Text.Json.JsonSerializer.Serialize(turn.Text)}: {mismatch}");
            }

            Assert.Equal(turn.Text, tokenizer.Decode(tokenizer.EncodeToIds(turn.Text)));
            Assert.Equal(turn.Expected[encoding].Count, tokenizer.CountTokens(turn.Text));
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches:\n" + string.Join("\n", mismatches.Take(20)));
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_every_code_point_in_context_When_encoded_Then_count_and_id_hash_equal_tiktoken(string encoding)
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);
        var corpus = GoldenCorpus.Instance;

        var mismatches = new List<string>();
        foreach (var chunk in corpus.UnicodeSweep)
        {
            if (Mismatch(tokenizer, SweepText(chunk.From, corpus.SweepChunk), chunk.Expected[encoding]) is { } mismatch)
            {
                mismatches.Add($"code points U+{chunk.From:X4}..U+{chunk.From + corpus.SweepChunk - 1:X4}: {mismatch}");
            }
        }

        Assert.Equal(112, corpus.UnicodeSweep.Count);
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches:\n" + string.Join("\n", mismatches));
    }

    private static string? Mismatch(ExactTiktokenTokenizer tokenizer, string text, (int Count, string Sha256) expected)
    {
        var ids = tokenizer.EncodeToIds(text);
        return ids.Count == expected.Count && GoldenCorpus.IdsHash(ids) == expected.Sha256
            ? null
            : $"{ids.Count} tokens, expected {expected.Count} (or the id hash differs)";
    }

    // Same rule as make-golden.mjs: "{c}a{c}A{c}1 {c}'s{c}\n" for every code point of the chunk but surrogates.
    private static string SweepText(int from, int chunk)
    {
        var text = new System.Text.StringBuilder(chunk * 16);
        for (var cp = from; cp < from + chunk; cp++)
        {
            if (cp is >= 0xD800 and <= 0xDFFF)
            {
                continue;
            }

            var c = char.ConvertFromUtf32(cp);
            text.Append(c).Append('a').Append(c).Append('A').Append(c).Append("1 ").Append(c).Append("'s").Append(c).Append('\n');
        }

        return text.ToString();
    }

    private static string Describe(string text, IReadOnlyList<int> actual, int[] expected) =>
        $"{System.Text.Json.JsonSerializer.Serialize(text)}: got [{string.Join(',', actual)}] expected [{string.Join(',', expected)}]";
}
