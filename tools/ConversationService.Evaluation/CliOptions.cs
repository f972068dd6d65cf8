using System.Globalization;
using ConversationService.Tokenizers;

namespace ConversationService.Evaluation;

/// <summary>Command-line options; <see cref="Parse"/> reports every problem with the option it concerns.</summary>
public sealed record CliOptions(
    EvaluationSettings Settings, Uri BaseUrl, string ApiKey)
{
    public const string ApiKeyVariable = "EVAL_API_KEY";

    public const string Usage =
        """
        LoCoMo evidence-recall evaluation of ConversationService (protocol: shared/data/locomo/README.md).

        Usage: dotnet run --project tools/ConversationService.Evaluation -c Release -- --data <dir> [options]

          --data <dir>                 folder with LoCoMo conversation files (conv-*.json); required
          --base-url <url>             service address (default http://localhost:5080)
          --api-key <key>              API key (default: environment variable EVAL_API_KEY)
          --budgets <list>             token budgets (default 500,1000,2000,4000)
          --out <dir>                  output folder (default artifacts/eval/<utc-stamp>)
          --conversations <list>       only these files, e.g. conv-26,conv-30 (default: all)
          --concurrency <n>            parallel requests, 1-64 (default 4)
          --model <name>               model for contexts and token counts (default gpt-4o)
          --prefix-conversation <name> conversation whose ingest measures prefix stability (default: the first)
          --prefix-budgets <list>      budgets of the prefix-stability contexts (default 2000,4000)
          --index-timeout <seconds>    how long to wait for indexedVersion == version (default 600)
          --keep                       keep the conversations instead of deleting them at the end
          -h, --help                   this text

        Exit codes: 0 report written, 1 the run failed (service error, timeout), 2 invalid arguments.
        """;

    private static readonly IReadOnlyList<int> DefaultBudgets = [500, 1000, 2000, 4000];
    private static readonly IReadOnlyList<int> DefaultPrefixBudgets = [2000, 4000];
    private const int MaxBudget = 2_000_000;

    /// <summary>Options, or the list of problems; <paramref name="help"/> is true when --help was asked for.</summary>
    public static (CliOptions? Options, IReadOnlyList<string> Errors, bool Help) Parse(
        IReadOnlyList<string> args, DateTimeOffset now, Func<string, string?> environment)
    {
        var errors = new List<string>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var keep = false;
        string[] valued =
        [
            "--data", "--base-url", "--api-key", "--budgets", "--out", "--conversations", "--concurrency", "--model",
            "--prefix-conversation", "--prefix-budgets", "--index-timeout",
        ];
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help")
            {
                return (null, [], true);
            }
            if (arg == "--keep")
            {
                keep = true;
            }
            else if (valued.Contains(arg))
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    errors.Add($"{arg}: a value is required.");
                }
                else
                {
                    values[arg] = args[++i];
                }
            }
            else
            {
                errors.Add($"{arg}: unknown option (see --help).");
            }
        }

        var files = DataFiles(values.GetValueOrDefault("--data"), values.GetValueOrDefault("--conversations"), errors);
        var baseUrl = values.GetValueOrDefault("--base-url", "http://localhost:5080");
        if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            errors.Add($"--base-url: '{baseUrl}' is not an http(s) URL.");
        }
        var apiKey = values.GetValueOrDefault("--api-key") ?? environment(ApiKeyVariable);
        if (string.IsNullOrWhiteSpace(apiKey))
        {
            errors.Add($"--api-key: required (or set {ApiKeyVariable}).");
        }
        var budgets = IntList("--budgets", values, DefaultBudgets, 1, MaxBudget, errors);
        var prefixBudgets = IntList("--prefix-budgets", values, DefaultPrefixBudgets, 1, MaxBudget, errors);
        var concurrency = Int("--concurrency", values, 4, 1, 64, errors);
        var timeout = Int("--index-timeout", values, 600, 1, 86_400, errors);
        var model = values.GetValueOrDefault("--model", "gpt-4o");
        if (!ExactTiktokenTokenizer.TryGetEncodingForModel(model, out _))
        {
            errors.Add($"--model: '{model}' has no tokenizer. Supported: {ExactTiktokenTokenizer.SupportedModelsDescription}.");
        }
        var prefixConversation = values.GetValueOrDefault("--prefix-conversation");
        if (prefixConversation is not null && files is not null
            && !files.Any(f => Path.GetFileNameWithoutExtension(f) == prefixConversation))
        {
            errors.Add($"--prefix-conversation: '{prefixConversation}' is not among the conversations evaluated.");
        }
        if (errors.Count > 0)
        {
            return (null, errors, false);
        }

        var runId = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var output = values.GetValueOrDefault("--out") ?? Path.Combine("artifacts", "eval", runId);
        var settings = new EvaluationSettings(
            files!, budgets, output, model, concurrency, keep, prefixConversation, prefixBudgets,
            TimeSpan.FromSeconds(timeout), runId);
        return (new CliOptions(settings, uri!, apiKey!), [], false);
    }

    private static List<string>? DataFiles(string? data, string? only, List<string> errors)
    {
        if (data is null)
        {
            errors.Add("--data: required (the folder holding conv-*.json).");
            return null;
        }
        if (!Directory.Exists(data))
        {
            errors.Add($"--data: folder '{data}' does not exist.");
            return null;
        }
        var files = Directory.GetFiles(data, "*.json").Order(StringComparer.Ordinal).ToList();
        if (only is not null)
        {
            var wanted = only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var byName = files.ToDictionary(f => Path.GetFileNameWithoutExtension(f), StringComparer.Ordinal);
            foreach (var name in wanted.Where(n => !byName.ContainsKey(n)))
            {
                errors.Add($"--conversations: no file {name}.json in '{data}'.");
            }
            files = wanted.Where(byName.ContainsKey).Distinct().Select(n => byName[n]).ToList();
        }
        if (files.Count == 0)
        {
            errors.Add($"--data: no conversation files (*.json) in '{data}'.");
        }
        return files;
    }

    private static int Int(string name, Dictionary<string, string> values, int fallback, int min, int max, List<string> errors)
    {
        if (!values.TryGetValue(name, out var text))
        {
            return fallback;
        }
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }
        errors.Add($"{name}: '{text}' is not a whole number between {min} and {max}.");
        return fallback;
    }

    private static IReadOnlyList<int> IntList(
        string name, Dictionary<string, string> values, IReadOnlyList<int> fallback, int min, int max, List<string> errors)
    {
        if (!values.TryGetValue(name, out var text))
        {
            return fallback;
        }
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var parsed = parts
            .Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max ? v : (int?)null)
            .ToList();
        if (parsed.Any(p => p is null))
        {
            errors.Add($"{name}: '{text}' is not a comma-separated list of whole numbers between {min} and {max}.");
            return fallback;
        }
        return parsed.Select(p => p!.Value).Distinct().Order().ToList();
    }
}
