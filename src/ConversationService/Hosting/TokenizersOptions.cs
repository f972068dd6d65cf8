using ConversationService.Tokenizers;

namespace ConversationService.Hosting;

/// <summary>
/// Tokenizers:Models:&lt;model&gt;: a tiktoken-format vocabulary file for a model that is not one of OpenAI's (a
/// self-hosted one, say), so that its budgets are exact too. Such a model's encoding is its own name.
/// </summary>
public sealed class TokenizersOptions
{
    public Dictionary<string, VocabularyFileOptions> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public IEnumerable<string> Problems()
    {
        foreach (var (model, file) in Models)
        {
            var key = $"Tokenizers:Models:{model}";
            if (!Identifiers.IsValid(model) || model is "o200k_base" or "cl100k_base")
            {
                yield return $"{key}: '{model}' is not a model name (1-128 of [A-Za-z0-9._-], not an encoding's name).";
            }
            else if (string.IsNullOrWhiteSpace(file.VocabularyFile))
            {
                yield return $"{key}:VocabularyFile is required: the path of a tiktoken-format BPE file ('<base64 token> <rank>' per line).";
            }
            else if (!File.Exists(file.VocabularyFile))
            {
                yield return $"{key}:VocabularyFile: '{file.VocabularyFile}' does not exist.";
            }
            else if (string.IsNullOrEmpty(file.Pattern))
            {
                yield return $"{key}:Pattern is required: o200k_base, cl100k_base or a .NET regular expression that splits text into pre-tokens.";
            }
            else if (Loads(key, file) is { } problem)
            {
                yield return problem;
            }
        }
    }

    /// <summary>Each configured model's tokenizer, by model name, loaded on first use.</summary>
    public Dictionary<string, Lazy<ModelTokenizer>> Tokenizers() => Models.ToDictionary(
        m => m.Key,
        m => new Lazy<ModelTokenizer>(() => new ModelTokenizer(m.Key, TiktokenVocabularyFile.Load(m.Value.VocabularyFile, m.Value.Pattern))),
        StringComparer.OrdinalIgnoreCase);

    private static string? Loads(string key, VocabularyFileOptions file)
    {
        try
        {
            TiktokenVocabularyFile.CreatePreTokenizer(file.Pattern);
        }
        catch (FormatException e)
        {
            return $"{key}:Pattern: {e.Message}";
        }
        try
        {
            TiktokenVocabularyFile.Check(file.VocabularyFile);
            return null;
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            return $"{key}:VocabularyFile: {e.Message}";
        }
    }
}

public sealed class VocabularyFileOptions
{
    /// <summary>Path of a tiktoken-format BPE file: one '&lt;base64 token&gt; &lt;rank&gt;' per line.</summary>
    public string VocabularyFile { get; set; } = "";

    /// <summary>o200k_base, cl100k_base (their split patterns), or a .NET regular expression.</summary>
    public string Pattern { get; set; } = "";
}
