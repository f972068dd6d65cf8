namespace ConversationService.Tokenizers.Tests;

public sealed class GoldenParityTests
{
    public static TheoryData<string> Encodings => [.. GoldenCorpus.Encodings];

    [Fact]
    public void Given_the_golden_file_When_loaded_Then_it_holds_at_least_2000_texts_with_LoCoMo_turns()
    {
        var corpus = GoldenCorpus.Instance;

        Assert.True(corpus.Texts.Count + corpus.LoneSurrogates.Count + corpus.Locomo.Count >= 2000);
        Assert.True(corpus.Locomo.Count >= 2700);
        Assert.Contains(corpus.Texts, t => t.Text.Length == 0);
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_hand_written_and_fuzz_texts_When_encoded_Then_ids_equal_tiktoken(string encoding)
    {
        var tokenizer = TiktokenTokenizer.CreateForEncoding(encoding);

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
        var tokenizer = TiktokenTokenizer.CreateForEncoding(encoding);

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
        var tokenizer = TiktokenTokenizer.CreateForEncoding(encoding);

        foreach (var golden in GoldenCorpus.Instance.LoneSurrogates)
        {
            Assert.Equal(golden.Ids[encoding], tokenizer.EncodeToIds(golden.Text));
        }
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_valid_text_When_encoded_and_decoded_Then_the_text_round_trips(string encoding)
    {
        var tokenizer = TiktokenTokenizer.CreateForEncoding(encoding);

        foreach (var golden in GoldenCorpus.Instance.Texts)
        {
            Assert.Equal(golden.Text, tokenizer.Decode(tokenizer.EncodeToIds(golden.Text)));
        }
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_LoCoMo_turns_When_encoded_Then_count_and_id_hash_equal_tiktoken(string encoding)
    {
        var tokenizer = TiktokenTokenizer.CreateForEncoding(encoding);
        var contents = LocomoData.Contents;

        var mismatches = new List<string>();
        foreach (var turn in GoldenCorpus.Instance.Locomo)
        {
            var text = contents[(turn.File, turn.DiaId)];
            Assert.Equal(turn.Field == "text+blip_caption", text.Contains(" [shares a photo: ", StringComparison.Ordinal));
            var ids = tokenizer.EncodeToIds(text);
            var (count, sha256) = turn.Expected[encoding];
            if (ids.Count != count || GoldenCorpus.IdsHash(ids) != sha256 || tokenizer.CountTokens(text) != count)
            {
                mismatches.Add($"{turn.File} {turn.DiaId}: {ids.Count} tokens, expected {count}");
            }

            Assert.Equal(text, tokenizer.Decode(ids));
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches:\n" + string.Join("\n", mismatches.Take(20)));
    }

    private static string Describe(string text, IReadOnlyList<int> actual, int[] expected) =>
        $"{System.Text.Json.JsonSerializer.Serialize(text)}: got [{string.Join(',', actual)}] expected [{string.Join(',', expected)}]";
}
