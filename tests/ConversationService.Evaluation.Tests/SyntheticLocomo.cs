using System.Text.Json;

namespace ConversationService.Evaluation.Tests;

/// <summary>A small conversation in LoCoMo's file format, written to a temporary folder (real data never enters the repo).</summary>
public sealed class SyntheticLocomo : IDisposable
{
    public SyntheticLocomo(string name = "conv-1")
    {
        Directory.CreateDirectory(Folder);
        Path = System.IO.Path.Combine(Folder, name + ".json");
        File.WriteAllText(Path, JsonSerializer.Serialize(Document));
    }

    public string Folder { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "locomo-" + Guid.NewGuid().ToString("N"));

    public string Path { get; }

    /// <summary>Sessions are listed out of order (session_10 before session_2) and each ends with Ann's turn.</summary>
    public static readonly object Document = new Dictionary<string, object>
    {
        ["speaker_a"] = "Ann",
        ["speaker_b"] = "Bob",
        ["session_10"] = new object[]
        {
            Turn("Bob", "D10:1", "Did the puppy settle in at home?"),
            Turn("Ann", "D10:2", "Max loves the garden, he digs holes in the tulip bed every morning.", "a dog in a garden"),
            Turn("Bob", "D10:3", "Tulips never last long around dogs."),
            Turn("Ann", "D10:4", "I signed up for a pottery class on Thursdays to relax."),
        },
        ["session_10_date_time"] = "12:09 am on 13 September, 2023",
        ["session_2"] = new object[]
        {
            Turn("Ann", "D2:1", "Guess what, I adopted a puppy named Max from the shelter!"),
            Turn("Bob", "D2:2", "Congratulations! I went hiking in the Alps with my sister last weekend."),
            Turn("Ann", "D2:3", "That sounds lovely. Which trail did you take?"),
            Turn("Bob", "D2:4", "The one above Zermatt, with a view of the Matterhorn."),
            Turn("Ann", "D2:5", "I have always wanted to see the Matterhorn."),
        },
        ["session_2_date_time"] = "1:56 pm on 8 May, 2023",
        ["qa"] = new object[]
        {
            Qa("What is the name of Ann's puppy?", 4, "D2:1"),
            Qa("Where did Bob go hiking and with whom?", 1, "D2:2; D2:4"),
            Qa("When does Ann go to pottery class?", 2, "D10:4"),
            Qa("What does Max dig up?", 3, "D10:2", "D2:1"),
            Qa("What is Bob's favourite colour?", 5, "D2:2"),
            Qa("Which question has no evidence?", 4),
        },
    };

    private static Dictionary<string, string> Turn(string speaker, string id, string text, string? caption = null)
    {
        var turn = new Dictionary<string, string> { ["speaker"] = speaker, ["dia_id"] = id, ["text"] = text };
        if (caption is not null)
        {
            turn["blip_caption"] = caption;
            turn["img_url"] = "https://example.invalid/photo.jpg";
        }
        return turn;
    }

    private static object Qa(string question, int category, params string[] evidence) =>
        new { question, answer = "-", evidence, category };

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
