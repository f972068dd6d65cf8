using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ConversationService.Tokenizers.Tests;

/// <summary>
/// LoCoMo gate (scripts/eval/run.sh): every LoCoMo development turn, rebuilt from the data folder, encodes to
/// tiktoken's ids. Golden/tiktoken-locomo.json holds no text: references, each turn's counts, and one id hash per
/// session (a hash per turn could be reversed for the shortest turns).
/// </summary>
[Trait("Category", LocomoData.Category)]
public sealed class LocomoParityTests
{
    public static TheoryData<string> Encodings => [.. GoldenCorpus.Encodings];

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_LoCoMo_turns_When_encoded_Then_counts_and_session_id_hashes_equal_tiktoken_and_the_texts_round_trip(string encoding)
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);
        var contents = LocomoData.Contents;
        using var golden = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Golden", "tiktoken-locomo.json")));

        var (turns, mismatches) = (0, new List<string>());
        foreach (var session in golden.RootElement.GetProperty("sessions").EnumerateArray())
        {
            var file = session.GetProperty("file").GetString()!;
            var where = $"{file} {session.GetProperty("session").GetString()}";
            var ids = new List<string>();
            foreach (var turn in session.GetProperty("turns").EnumerateArray())
            {
                var diaId = turn.GetProperty("dia_id").GetString()!;
                var text = contents[(file, diaId)];
                Assert.Equal(turn.GetProperty("field").GetString() == "text+blip_caption", text.Contains(" [shares a photo: ", StringComparison.Ordinal));
                var encoded = tokenizer.EncodeToIds(text);
                ids.Add(string.Join(',', encoded));
                if (encoded.Count != turn.GetProperty(encoding).GetInt32() || tokenizer.CountTokens(text) != encoded.Count)
                {
                    mismatches.Add($"{where} {diaId}: {encoded.Count} tokens, expected {turn.GetProperty(encoding).GetInt32()}");
                }

                Assert.Equal(text, tokenizer.Decode(encoded));
                turns++;
            }

            if (Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', ids)))) != session.GetProperty(encoding).GetString())
            {
                mismatches.Add($"{where}: the ids differ from tiktoken's");
            }
        }

        Assert.True(turns >= 2700, $"only {turns} LoCoMo turns in the golden file");
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches:\n" + string.Join("\n", mismatches.Take(20)));
    }
}
