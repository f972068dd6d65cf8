using System.Text.Json.Serialization;
using ConversationService.Tokenizers;

namespace ConversationService.Context;

/// <summary>What a stored turn costs in the target encoding; content is loaded only for the turns selected.</summary>
public sealed record TurnCost(string Id, int Index, string Role, string? Name, int Tokens);

public sealed record TurnContent(TurnCost Turn, string Content);

public sealed record ContextMessage(string Role, string Content, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name = null);

public sealed record SectionItem(string Id, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Score = null);

public sealed record ContextSection(string Kind, int Tokens, IReadOnlyList<SectionItem> Items);

public sealed record ContextWindow(IReadOnlyList<ContextMessage> Messages, IReadOnlyList<ContextSection> Sections, int Tokens);

/// <summary>Which turns go in; <see cref="CutTo"/> is set when the mandatory turn must be cut to that many content tokens.</summary>
public sealed record ContextSelection(
    bool IncludeSummary, IReadOnlyList<int> TurnIndexes, int? MandatoryIndex, int? CutTo);

/// <summary>The mandatory parts alone exceed budget - reserve.</summary>
public sealed record ContextTooSmall(int RequiredTokens, int AvailableTokens);

/// <summary>
/// Context assembly as pure functions: <see cref="Select"/> plans from token counts alone (so only the chosen
/// turns' content has to be read), <see cref="Build"/> renders the messages. Order keeps the static part first
/// (system, summary) so consecutive requests share a cacheable prefix; recent turns follow oldest first.
/// </summary>
public static class ContextAssembly
{
    /// <summary>Reply priming that OpenAI adds to every chat prompt.</summary>
    public const int ReplyPriming = 3;

    public static (ContextSelection? Selection, ContextTooSmall? TooSmall) Select(
        int available, int systemTokens, int? summaryTokens, IReadOnlyList<TurnCost> turns, TiktokenTokenizer tokenizer)
    {
        var used = ReplyPriming + systemTokens;
        var mandatory = LastIndexOf(turns, "user");
        int? cutTo = null;
        if (mandatory >= 0)
        {
            var turn = turns[mandatory];
            if (used + turn.Tokens <= available)
            {
                used += turn.Tokens;
            }
            else
            {
                // Only the newest user turn may be cut, and only at a token boundary; it needs at least one token.
                var overhead = tokenizer.CountMessageTokens(turn.Role, "", turn.Name);
                var room = available - used - overhead;
                if (room < 1)
                {
                    return (null, new ContextTooSmall(used + overhead + 1, available));
                }
                cutTo = room;
                used = available;
            }
        }
        else if (used > available)
        {
            return (null, new ContextTooSmall(used, available));
        }

        var includeSummary = summaryTokens is { } summary && used + summary <= available;
        if (includeSummary)
        {
            used += summaryTokens!.Value;
        }
        var chosen = new List<int>();
        if (mandatory >= 0)
        {
            chosen.Add(turns[mandatory].Index);
        }
        // Newest first, stopping at the first turn that does not fit: the window stays one contiguous stretch
        // of history instead of skipping an oversize turn and pulling in older ones around it.
        for (var i = turns.Count - 1; i >= 0; i--)
        {
            if (i == mandatory)
            {
                continue;
            }
            if (used + turns[i].Tokens > available)
            {
                break;
            }
            used += turns[i].Tokens;
            chosen.Add(turns[i].Index);
        }
        chosen.Sort();
        return (new ContextSelection(includeSummary, chosen, mandatory >= 0 ? turns[mandatory].Index : null, cutTo), null);
    }

    public static ContextWindow Build(
        ContextSelection selection, string? systemPrompt, string? summary, IReadOnlyList<TurnContent> turns,
        TiktokenTokenizer tokenizer)
    {
        var messages = new List<ContextMessage>();
        var sections = new List<ContextSection>();
        var total = ReplyPriming;
        if (!string.IsNullOrEmpty(systemPrompt))
        {
            var tokens = SystemTokens(systemPrompt, tokenizer);
            messages.Add(new ContextMessage("system", systemPrompt));
            sections.Add(new ContextSection("system", tokens, []));
            total += tokens;
        }
        if (selection.IncludeSummary && !string.IsNullOrEmpty(summary))
        {
            var content = SummaryMessage(summary);
            var tokens = tokenizer.CountMessageTokens("system", content);
            messages.Add(new ContextMessage("system", content));
            sections.Add(new ContextSection("summary", tokens, [new SectionItem("summary")]));
            total += tokens;
        }
        var recentTokens = 0;
        var items = new List<SectionItem>(turns.Count);
        foreach (var (turn, content) in turns.OrderBy(t => t.Turn.Index))
        {
            var text = content;
            var tokens = turn.Tokens;
            if (turn.Index == selection.MandatoryIndex && selection.CutTo is { } cutTo)
            {
                text = CutToTokens(content, cutTo, tokenizer);
                tokens = tokenizer.CountMessageTokens(turn.Role, text, turn.Name);
            }
            messages.Add(new ContextMessage(turn.Role, text, turn.Name));
            items.Add(new SectionItem(turn.Id));
            recentTokens += tokens;
        }
        if (items.Count > 0)
        {
            sections.Add(new ContextSection("recent", recentTokens, items));
            total += recentTokens;
        }
        return new ContextWindow(messages, sections, total);
    }

    /// <summary>Both steps over turns whose content is already at hand.</summary>
    public static (ContextWindow? Window, ContextTooSmall? TooSmall) Assemble(
        int available, string? systemPrompt, string? summary, IReadOnlyList<TurnContent> turns, TiktokenTokenizer tokenizer)
    {
        var (selection, tooSmall) = Select(
            available, SystemTokens(systemPrompt, tokenizer), SummaryTokens(summary, tokenizer),
            turns.Select(t => t.Turn).ToArray(), tokenizer);
        if (selection is null)
        {
            return (null, tooSmall);
        }
        var chosen = selection.TurnIndexes.ToHashSet();
        return (Build(selection, systemPrompt, summary, turns.Where(t => chosen.Contains(t.Turn.Index)).ToArray(), tokenizer), null);
    }

    public static int SystemTokens(string? systemPrompt, TiktokenTokenizer tokenizer) =>
        string.IsNullOrEmpty(systemPrompt) ? 0 : tokenizer.CountMessageTokens("system", systemPrompt);

    public static int? SummaryTokens(string? summary, TiktokenTokenizer tokenizer) =>
        string.IsNullOrEmpty(summary) ? null : tokenizer.CountMessageTokens("system", SummaryMessage(summary));

    public static string SummaryMessage(string summary) => "Summary of the earlier conversation:\n" + summary;

    /// <summary>
    /// The longest prefix within <paramref name="maxTokens"/>. Re-encoding a prefix can merge differently at the
    /// cut than the whole text did, so the prefix is recounted and the cut moved back until it really fits.
    /// </summary>
    public static string CutToTokens(string text, int maxTokens, TiktokenTokenizer tokenizer)
    {
        for (var limit = maxTokens; limit > 0; limit--)
        {
            var index = tokenizer.GetIndexByTokenCount(text, limit, out _);
            var prefix = text[..index];
            if (tokenizer.CountTokens(prefix) <= maxTokens)
            {
                return prefix;
            }
        }
        return "";
    }

    private static int LastIndexOf(IReadOnlyList<TurnCost> turns, string role)
    {
        for (var i = turns.Count - 1; i >= 0; i--)
        {
            if (turns[i].Role == role)
            {
                return i;
            }
        }
        return -1;
    }
}
