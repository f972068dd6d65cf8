using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ConversationService.Tokenizers.Tests;

/// <summary>The committed golden file written by scripts/tokenizer/make-golden.mjs (tiktoken@1.0.22).</summary>
public sealed class GoldenCorpus
{
    public static readonly string[] Encodings = ["o200k_base", "cl100k_base"];

    private static readonly Lazy<GoldenCorpus> Shared = new(Load);

    public static GoldenCorpus Instance => Shared.Value;

    public required IReadOnlyList<GoldenText> Texts { get; init; }
    public required IReadOnlyList<GoldenText> LoneSurrogates { get; init; }
    public required IReadOnlyList<GoldenChat> Chats { get; init; }
    public required IReadOnlyList<GoldenHashedText> Conversation { get; init; }
    public required int SweepChunk { get; init; }
    public required IReadOnlyList<GoldenSweepChunk> UnicodeSweep { get; init; }

    /// <summary>The hash the golden file stores for long texts: SHA-256 of the decimal ids joined by ",".</summary>
    public static string IdsHash(IReadOnlyList<int> ids)
    {
        var text = new byte[ids.Count * 12];
        var length = 0;
        for (var i = 0; i < ids.Count; i++)
        {
            if (i > 0)
            {
                text[length++] = (byte)',';
            }

            ids[i].TryFormat(text.AsSpan(length), out var written, provider: System.Globalization.CultureInfo.InvariantCulture);
            length += written;
        }

        return Convert.ToHexStringLower(SHA256.HashData(text.AsSpan(0, length)));
    }

    private static GoldenCorpus Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Golden", "tiktoken-golden.json");
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        var sweep = root.GetProperty("unicodeSweep");
        return new GoldenCorpus
        {
            SweepChunk = sweep.GetProperty("chunk").GetInt32(),
            UnicodeSweep =
            [
                .. sweep.GetProperty("chunks").EnumerateArray().Select(e => new GoldenSweepChunk(e.GetProperty("from").GetInt32(), Hashed(e))),
            ],
            Texts = [.. root.GetProperty("texts").EnumerateArray().Select(e => new GoldenText(e.GetProperty("text").GetString()!, Ids(e)))],
            LoneSurrogates =
            [
                .. root.GetProperty("loneSurrogates").EnumerateArray().Select(e => new GoldenText(
                    new string([.. e.GetProperty("utf16").EnumerateArray().Select(c => (char)c.GetInt32())]), Ids(e))),
            ],
            Chats =
            [
                .. root.GetProperty("chats").EnumerateArray().Select(e => new GoldenChat(
                    [.. e.GetProperty("messages").Deserialize<MessageJson[]>()!.Select(m => new ChatMessage(m.Role, m.Content, m.Name))],
                    Encodings.ToDictionary(n => n, n => e.GetProperty(n).GetInt32()))),
            ],
            Conversation =
            [
                .. root.GetProperty("conversation").EnumerateArray().Select(e => new GoldenHashedText(e.GetProperty("text").GetString()!, Hashed(e))),
            ],
        };
    }

    private static Dictionary<string, (int Count, string Sha256)> Hashed(JsonElement entry) =>
        Encodings.ToDictionary(n => n, n => (entry.GetProperty(n).GetProperty("count").GetInt32(), entry.GetProperty(n).GetProperty("sha256").GetString()!));

    private static Dictionary<string, int[]> Ids(JsonElement entry) =>
        Encodings.ToDictionary(n => n, n => entry.GetProperty(n).EnumerateArray().Select(x => x.GetInt32()).ToArray());

    private sealed record MessageJson(
        [property: JsonPropertyName("role")] string Role,
        [property: JsonPropertyName("content")] string Content,
        [property: JsonPropertyName("name")] string? Name);
}

public sealed record GoldenText(string Text, IReadOnlyDictionary<string, int[]> Ids);

public sealed record GoldenChat(IReadOnlyList<ChatMessage> Messages, IReadOnlyDictionary<string, int> Tokens);

public sealed record GoldenSweepChunk(int From, IReadOnlyDictionary<string, (int Count, string Sha256)> Expected);

public sealed record GoldenHashedText(string Text, IReadOnlyDictionary<string, (int Count, string Sha256)> Expected);
