using Microsoft.ML.Tokenizers;
using MlTiktoken = Microsoft.ML.Tokenizers.TiktokenTokenizer;

namespace ConversationService.Tokenizers.Tests;

/// <summary>
/// The project's BPE against Microsoft.ML.Tokenizers' TiktokenTokenizer (with the vocabularies of its data
/// packages) on generated text: the same ids, counts, tokens and offsets, and the same cuts at a token limit. The three
/// documented differences, where the project follows tiktoken and the OpenAI API, are tested on their own below.
/// </summary>
public sealed class MlTokenizersDifferentialTests
{
    private const int TextsPerEncoding = 5_000;

    public static TheoryData<string> Encodings => [.. GoldenCorpus.Encodings];

    private static readonly Dictionary<string, MlTiktoken> Ml = GoldenCorpus.Encodings.ToDictionary(e => e, e => MlTiktoken.CreateForEncoding(e));

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_generated_texts_When_encoded_by_both_Then_ids_counts_and_offsets_are_identical(string encoding)
    {
        Tokenizer exact = ExactTiktokenTokenizer.CreateForEncoding(encoding);
        var ml = Ml[encoding];
        var mismatches = new List<string>();

        foreach (var text in GeneratedText.Texts(seed: 16, TextsPerEncoding))
        {
            var ids = exact.EncodeToIds(text);
            var expected = ml.EncodeToIds(text);
            if (!ids.SequenceEqual(expected)
                || exact.CountTokens(text) != expected.Count
                || !exact.EncodeToTokens(text, out _).SequenceEqual(ml.EncodeToTokens(text, out _)))
            {
                mismatches.Add(Describe(text));
            }
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {TextsPerEncoding} texts differ, e.g. {string.Join(", ", mismatches.Take(5))}");
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_generated_texts_When_encoded_without_pre_tokenization_Then_both_merge_the_whole_text_alike(string encoding)
    {
        Tokenizer exact = ExactTiktokenTokenizer.CreateForEncoding(encoding);
        var ml = Ml[encoding];

        foreach (var text in GeneratedText.Texts(seed: 19, 300))
        {
            var expected = ml.EncodeToIds(text, considerPreTokenization: false);

            Assert.Equal(expected, exact.EncodeToIds(text, considerPreTokenization: false));
            Assert.Equal(expected.Count, exact.CountTokens(text, considerPreTokenization: false));
        }
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_generated_texts_When_limited_to_a_token_count_Then_encoding_matches_and_cuts_match_unless_the_reference_part_would_not_fit(string encoding)
    {
        Tokenizer exact = ExactTiktokenTokenizer.CreateForEncoding(encoding);
        var ml = Ml[encoding];
        var random = new Random(18);

        foreach (var text in GeneratedText.Texts(seed: 18, 1_000))
        {
            var limit = random.Next(1, ml.CountTokens(text) + 2);

            Assert.Equal(ml.EncodeToIds(text, limit, out _, out var expectedConsumed), exact.EncodeToIds(text, limit, out _, out var consumed));
            Assert.Equal(expectedConsumed, consumed);

            var head = exact.GetIndexByTokenCount(text, limit, out _, out var headCount);
            var mlHead = ml.GetIndexByTokenCount(text, limit, out _, out _);
            var tail = exact.GetIndexByTokenCountFromEnd(text, limit, out _, out var tailCount);
            var mlTail = ml.GetIndexByTokenCountFromEnd(text, limit, out _, out _);

            // The reference trusts the whole text's tokens; re-encoded alone, its part can need more than the limit.
            Assert.Equal(headCount, exact.CountTokens(text[..head]));
            Assert.True(headCount <= limit);
            Assert.True(head == mlHead || (head < mlHead && exact.CountTokens(text[..mlHead]) > limit), Describe(text));
            Assert.Equal(tailCount, exact.CountTokens(text[tail..]));
            Assert.True(tailCount <= limit);
            Assert.True(tail == mlTail || (tail > mlTail && exact.CountTokens(text[mlTail..]) > limit), Describe(text));
        }
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_special_token_strings_in_user_text_When_encoded_Then_they_are_text_here_and_special_tokens_in_a_fresh_reference(string encoding)
    {
        Tokenizer exact = ExactTiktokenTokenizer.CreateForEncoding(encoding);
        var ml = MlTiktoken.CreateForEncoding(encoding);
        var specialTokens = ml.SpecialTokens;
        Assert.NotNull(specialTokens);
        Assert.NotEmpty(specialTokens);

        foreach (var (marker, id) in specialTokens)
        {
            var text = $"Ignore this: {marker} and go on.";

            var ids = exact.EncodeToIds(text);
            var reference = ml.EncodeToIds(text);

            // tiktoken's encode(text, disallowed_special=()), which the OpenAI API applies to message content.
            Assert.DoesNotContain(id, ids);
            Assert.Equal(text, exact.Decode(ids));
            Assert.Contains(id, reference);
            Assert.True(ids.Count > reference.Count, $"{marker}: {ids.Count} tokens here, {reference.Count} in the reference");
        }
    }

    [Fact]
    public void Given_both_end_markers_in_o200k_When_counted_Then_the_project_counts_thirteen_tokens_and_a_fresh_reference_two()
    {
        const string text = "<|endoftext|><|endofprompt|>";

        // tiktoken@1.0.22: encode(text, [], []).
        Assert.Equal([27, 91, 419, 1440, 919, 91, 3784, 91, 419, 1440, 82467, 91, 29], ExactTiktokenTokenizer.CreateForEncoding("o200k_base").EncodeToIds(text));
        Assert.Equal([199999, 200018], MlTiktoken.CreateForEncoding("o200k_base").EncodeToIds(text));
    }

    /// <summary>
    /// ML.Tokenizers keeps its special tokens only in its 8,192-entry LRU cache of pre-tokens: once other text has
    /// pushed them out, the same marker is encoded as text. Its count of a text depends on what it counted before.
    /// </summary>
    [Fact]
    public void Given_the_reference_after_many_distinct_words_When_a_marker_is_encoded_again_Then_its_count_changed_and_the_project_s_did_not()
    {
        const string text = "<|endoftext|>";
        Tokenizer exact = ExactTiktokenTokenizer.CreateForEncoding("o200k_base");
        var ml = MlTiktoken.CreateForEncoding("o200k_base");
        var before = ml.CountTokens(text);

        // Ten thousand distinct letter runs ("qxab", "qxac", ...), each a pre-token that needs merging and is cached.
        ml.CountTokens(string.Join(' ', Enumerable.Range(0, 10_000).Select(i => $"qx{(char)('a' + i / 676)}{(char)('a' + i / 26 % 26)}{(char)('a' + i % 26)}")));

        Assert.Equal(1, before);
        Assert.Equal(7, ml.CountTokens(text));
        Assert.Equal(7, exact.CountTokens(text));
    }

    /// <summary>
    /// .NET's Regex tests \p{L} and \p{N} per UTF-16 unit, so a letter outside the BMP (here CJK Extension B/C, two
    /// surrogates) is punctuation to ML.Tokenizers' pattern and takes the line breaks after it into its pre-token.
    /// </summary>
    [Theory]
    [InlineData("o200k_base", "\U0002B161\n\n \n", new[] { 172, 104, 227, 94, 116650 }, new[] { 172, 104, 227, 94, 279, 793 })]
    [InlineData("cl100k_base", "\U0002788C\n\n    \n\t\U0001F468", new[] { 172, 100, 95, 234, 90353, 197, 9468, 239, 101 },
        new[] { 172, 100, 95, 234, 271, 1084, 197, 9468, 239, 101 })]
    public void Given_a_letter_outside_the_BMP_before_line_breaks_When_encoded_Then_the_project_splits_as_tiktoken_and_the_reference_does_not(
        string encoding, string text, int[] tiktoken, int[] reference)
    {
        Assert.Equal(tiktoken, ExactTiktokenTokenizer.CreateForEncoding(encoding).EncodeToIds(text));
        Assert.Equal(reference, Ml[encoding].EncodeToIds(text));
    }

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_lone_surrogates_When_encoded_Then_they_count_as_U_FFFD_here_and_as_raw_bytes_in_the_reference(string encoding)
    {
        Tokenizer exact = ExactTiktokenTokenizer.CreateForEncoding(encoding);
        var ml = Ml[encoding];

        foreach (var (text, replaced) in new[] { ("a\uD800b", "a\uFFFDb"), ("x \uDC00", "x \uFFFD"), ("\uD83D", "\uFFFD"), ("🦜\uDE9C🦜", "🦜\uFFFD🦜") })
        {
            Assert.Equal(ml.EncodeToIds(replaced), exact.EncodeToIds(text));
            Assert.NotEqual(ml.EncodeToIds(replaced), ml.EncodeToIds(text));
        }
    }

    private static string Describe(string text) =>
        "\"" + string.Concat(text.Take(80).Select(c => c < 0x20 || char.IsSurrogate(c) ? $"\\u{(int)c:X4}" : c.ToString())) + "\"";
}
