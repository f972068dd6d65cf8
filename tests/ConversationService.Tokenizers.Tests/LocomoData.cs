using System.Text.Json;

namespace ConversationService.Tokenizers.Tests;

/// <summary>
/// Reads the LoCoMo development turns for the LoCoMo gates: the tests of trait <c>Category=LoCoMo</c>, which
/// scripts/eval/run.sh runs with LOCOMO_DIR and scripts/test.sh leaves out. The data must never be copied into the
/// repository, so they find it through LOCOMO_DIR or beside the clone (…/shared/data/locomo).
/// </summary>
public static class LocomoData
{
    /// <summary>The trait value of the tests that read the LoCoMo data: <c>[Trait("Category", LocomoData.Category)]</c>.</summary>
    public const string Category = "LoCoMo";

    private static readonly Lazy<IReadOnlyDictionary<(string File, string DiaId), string>> Turns = new(Load);

    /// <summary>Turn content as the golden script builds it: text plus " [shares a photo: caption]" when captioned.</summary>
    public static IReadOnlyDictionary<(string File, string DiaId), string> Contents => Turns.Value;

    public static string Directory()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("LOCOMO_DIR");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return System.IO.Directory.Exists(fromEnvironment)
                ? fromEnvironment
                : throw new DirectoryNotFoundException($"LOCOMO_DIR points to missing folder {fromEnvironment}.");
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", "locomo");
            if (System.IO.Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException(
            $"LoCoMo data not found above {AppContext.BaseDirectory}: set LOCOMO_DIR or clone the repository beside shared/ (shared/data/locomo). "
            + "These are the LoCoMo gates (Category=LoCoMo), run by scripts/eval/run.sh; the test suite leaves them out (--filter Category!=LoCoMo).");
    }

    private static Dictionary<(string File, string DiaId), string> Load()
    {
        var turns = new Dictionary<(string, string), string>();
        foreach (var path in System.IO.Directory.GetFiles(Directory(), "*.json"))
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            foreach (var session in document.RootElement.EnumerateObject())
            {
                if (!session.Name.StartsWith("session_", StringComparison.Ordinal) || session.Value.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }

                foreach (var turn in session.Value.EnumerateArray())
                {
                    var content = turn.GetProperty("text").GetString()!;
                    if (turn.TryGetProperty("blip_caption", out var caption) && caption.GetString() is { Length: > 0 } text)
                    {
                        content += " [shares a photo: " + text + "]";
                    }

                    turns[(Path.GetFileName(path), turn.GetProperty("dia_id").GetString()!)] = content;
                }
            }
        }

        return turns;
    }
}
