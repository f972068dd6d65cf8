using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ConversationService.Evaluation.Locomo;

/// <summary>A turn as the protocol posts it: dia_id, role by speaker_a, text plus the photo caption.</summary>
public sealed record LocomoTurn(string Id, string Role, string Name, string Content, DateTimeOffset OccurredAt);

public sealed record LocomoSession(int Number, DateTimeOffset OccurredAt, IReadOnlyList<LocomoTurn> Turns);

/// <summary>A category 1–4 question; <see cref="Evidence"/> holds the distinct dia_ids its answer needs.</summary>
public sealed record LocomoQuestion(int Index, int Category, string Question, IReadOnlyList<string> Evidence);

/// <summary>One LoCoMo file (e.g. conv-26.json) read for the evidence-recall protocol.</summary>
public sealed partial record LocomoConversation(
    string Name, IReadOnlyList<LocomoSession> Sessions, IReadOnlyList<LocomoQuestion> Questions, int SkippedQuestions)
{
    public IEnumerable<LocomoTurn> Turns => Sessions.SelectMany(s => s.Turns);

    /// <summary>Category 5 (adversarial) is excluded, as in the published Mem0 and Zep evaluations.</summary>
    public const int MaxCategory = 4;

    private static readonly string[] DateFormats = ["h:mm tt 'on' d MMMM, yyyy", "h:mm tt 'on' d MMM, yyyy"];

    /// <summary>Reads a file; anything that is not a LoCoMo conversation is a <see cref="FormatException"/> naming the file.</summary>
    public static LocomoConversation Load(string path)
    {
        try
        {
            return Parse(path);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"{path} is not a LoCoMo conversation file: {e.Message}", e);
        }
    }

    private static LocomoConversation Parse(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = document.RootElement;
        var name = Path.GetFileNameWithoutExtension(path);
        var speakerA = Required(root, "speaker_a", path).GetString()!;

        var sessions = new List<LocomoSession>();
        foreach (var property in root.EnumerateObject())
        {
            if (SessionKey().Match(property.Name) is not { Success: true } match || property.Value.ValueKind != JsonValueKind.Array)
            {
                continue;
            }
            var number = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            var dateKey = $"session_{number}_date_time";
            var occurredAt = ParseSessionDate(Required(root, dateKey, path).GetString() ?? "")
                ?? throw new FormatException($"{path}: {dateKey} is not like \"1:56 pm on 8 May, 2023\".");
            var turns = property.Value.EnumerateArray().Select(t => ToTurn(t, speakerA, occurredAt)).ToList();
            if (turns.Count > 0)
            {
                sessions.Add(new LocomoSession(number, occurredAt, turns));
            }
        }
        sessions.Sort((a, b) => a.Number.CompareTo(b.Number));

        var questions = new List<LocomoQuestion>();
        var skipped = 0;
        var index = 0;
        foreach (var qa in Required(root, "qa", path).EnumerateArray())
        {
            var category = qa.GetProperty("category").GetInt32();
            var evidence = qa.TryGetProperty("evidence", out var list) ? SplitEvidence(list) : [];
            if (category is >= 1 and <= MaxCategory)
            {
                // A question without evidence has no recall to measure.
                if (evidence.Count == 0)
                {
                    skipped++;
                }
                else
                {
                    questions.Add(new LocomoQuestion(index, category, qa.GetProperty("question").GetString()!, evidence));
                }
            }
            index++;
        }
        return new LocomoConversation(name, sessions, questions, skipped);
    }

    /// <summary>"1:56 pm on 8 May, 2023" as UTC (the data carries no time zone); null when it does not parse.</summary>
    public static DateTimeOffset? ParseSessionDate(string text) =>
        DateTime.TryParseExact(text.Trim(), DateFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var parsed)
            ? new DateTimeOffset(parsed, TimeSpan.Zero)
            : null;

    /// <summary>
    /// A few evidence entries list two ids in one string ("D8:6; D9:17"); they are split so each id counts once.
    /// </summary>
    public static IReadOnlyList<string> SplitEvidence(JsonElement evidence) =>
        evidence.EnumerateArray()
            .SelectMany(e => (e.GetString() ?? "").Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct(StringComparer.Ordinal)
            .ToList();

    private static LocomoTurn ToTurn(JsonElement turn, string speakerA, DateTimeOffset occurredAt)
    {
        var speaker = turn.GetProperty("speaker").GetString()!;
        var content = turn.GetProperty("text").GetString() ?? "";
        if (turn.TryGetProperty("blip_caption", out var caption) && caption.GetString() is { Length: > 0 } text)
        {
            content += " [shares a photo: " + text + "]";
        }
        return new LocomoTurn(
            turn.GetProperty("dia_id").GetString()!, speaker == speakerA ? "user" : "assistant", ParticipantName(speaker),
            content, occurredAt);
    }

    /// <summary>OpenAI (and the service) accept names of A-Z a-z 0-9 _ - only; LoCoMo names are plain already.</summary>
    public static string ParticipantName(string speaker) => InvalidNameChars().Replace(speaker, "_");

    private static JsonElement Required(JsonElement root, string property, string path) =>
        root.TryGetProperty(property, out var value)
            ? value
            : throw new FormatException($"{path}: '{property}' is missing; is this a LoCoMo conversation file?");

    [GeneratedRegex("^session_([0-9]+)$")]
    private static partial Regex SessionKey();

    [GeneratedRegex("[^A-Za-z0-9_-]")]
    private static partial Regex InvalidNameChars();
}
