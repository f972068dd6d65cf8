using System.Text.Json;

namespace ConversationService.Benchmarks;

/// <summary>
/// LoCoMo development turns, read from the shared data folder (never copied into the repository). Content is
/// built as in the tests and the Node comparison script: text plus " [shares a photo: caption]" when captioned.
/// </summary>
internal static class LocomoTurns
{
    public static string[] Load(string? directory = null)
    {
        directory ??= Find();
        var turns = new List<string>();
        foreach (var path in Directory.GetFiles(directory, "conv-*.json").Order(StringComparer.Ordinal))
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var sessions = document.RootElement.EnumerateObject()
                .Where(p => p.Name.StartsWith("session_", StringComparison.Ordinal) && p.Value.ValueKind == JsonValueKind.Array)
                .OrderBy(p => int.Parse(p.Name["session_".Length..], System.Globalization.CultureInfo.InvariantCulture));
            foreach (var session in sessions)
            {
                foreach (var turn in session.Value.EnumerateArray())
                {
                    var content = turn.GetProperty("text").GetString()!;
                    if (turn.TryGetProperty("blip_caption", out var caption) && caption.GetString() is { Length: > 0 } text)
                    {
                        content += " [shares a photo: " + text + "]";
                    }

                    turns.Add(content);
                }
            }
        }

        return [.. turns];
    }

    internal static string Find()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("LOCOMO_DIR");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment;
        }

        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", "data", "locomo");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new DirectoryNotFoundException("LoCoMo data not found: pass its folder or set LOCOMO_DIR.");
    }
}
