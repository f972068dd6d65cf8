namespace ConversationService.Tokenizers;

/// <summary>Which encoding a model name uses (tiktoken's model table, by family prefix).</summary>
internal static class ModelEncodings
{
    public const string O200kBase = "o200k_base";
    public const string Cl100kBase = "cl100k_base";

    // Order matters: "gpt-4o" and "gpt-4.1" must win over "gpt-4".
    private static readonly (string Family, string Encoding)[] Families =
    [
        ("gpt-4o", O200kBase),
        ("chatgpt-4o", O200kBase),
        ("gpt-4.1", O200kBase),
        ("gpt-4.5", O200kBase),
        ("gpt-5", O200kBase),
        ("o1", O200kBase),
        ("o3", O200kBase),
        ("o4-mini", O200kBase),
        ("gpt-4", Cl100kBase),
        ("gpt-3.5-turbo", Cl100kBase),
        ("gpt-35-turbo", Cl100kBase),
    ];

    private static readonly string[] ExactCl100k = ["text-embedding-ada-002", "text-embedding-3-small", "text-embedding-3-large"];

    public static string Description { get; } =
        "o200k_base: gpt-4o*, chatgpt-4o*, gpt-4.1*, gpt-4.5*, gpt-5*, o1*, o3*, o4-mini*; "
        + "cl100k_base: gpt-4, gpt-4-32k*, gpt-4-turbo*, gpt-3.5-turbo*, gpt-35-turbo* (Azure), "
        + "text-embedding-ada-002, text-embedding-3-small, text-embedding-3-large";

    public static bool TryGet(string? model, out string encoding)
    {
        encoding = "";
        if (string.IsNullOrWhiteSpace(model))
        {
            return false;
        }

        var name = model.Trim();
        foreach (var exact in ExactCl100k)
        {
            if (name.Equals(exact, StringComparison.OrdinalIgnoreCase))
            {
                encoding = Cl100kBase;
                return true;
            }
        }

        foreach (var (family, familyEncoding) in Families)
        {
            // A family matches itself and its dated or sized variants ("gpt-4o-mini", "gpt-5.1"), not "o10" or "gpt-4.2".
            if (name.StartsWith(family, StringComparison.OrdinalIgnoreCase)
                && (name.Length == family.Length || name[family.Length] == '-' || (name[family.Length] == '.' && family == "gpt-5")))
            {
                encoding = familyEncoding;
                return true;
            }
        }

        return false;
    }
}
