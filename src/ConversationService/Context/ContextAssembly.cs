using System.Text;
using System.Text.Json.Serialization;
using ConversationService.Relevance;
using ConversationService.Tokenizers;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Context;

public sealed record ContextMessage(string Role, string Content, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Name = null);

public sealed record SectionItem(string Id, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Score = null);

public sealed record ContextSection(string Kind, int Tokens, IReadOnlyList<SectionItem> Items);

public sealed record ContextWindow(IReadOnlyList<ContextMessage> Messages, IReadOnlyList<ContextSection> Sections, int Tokens);

/// <summary>The mandatory parts alone exceed budget - reserve.</summary>
public sealed record ContextTooSmall(int RequiredTokens, int AvailableTokens);

public sealed record KnowledgeItem(string Id, string Text, float[]? Vector);

public sealed record ExampleItem(string Id, string Input, string Output, float[]? Vector);

public sealed record SummaryInput(string Text, int ThroughIndex);

/// <summary>
/// Upper bounds per section, as shares of what is left after the mandatory parts. Recalled turns take what the
/// others leave. Recent is also a floor of sorts: it is filled first.
/// </summary>
public sealed record ContextShares(double Recent, double Summary, double Knowledge, double Examples)
{
    public static ContextShares Default { get; } = new(0.10, 0.25, 0.30, 0.20);
}

/// <summary>
/// Everything one context is built from; <see cref="TurnTokens"/> are the turns' message costs in the target encoding.
/// <see cref="KnowledgeTerms"/>, when given, indexes exactly <see cref="Knowledge"/> (cached collections bring
/// theirs); otherwise it is built from the texts.
/// </summary>
public sealed record ContextInput(
    int Available, string? SystemPrompt, SummaryInput? Summary, ConversationIndex Index, IReadOnlyList<int> TurnTokens,
    string? Query, float[]? QueryVector, IReadOnlyList<KnowledgeItem> Knowledge, IReadOnlyList<ExampleItem> Examples,
    int ExampleCount, ContextShares Shares, Bm25Index? KnowledgeTerms = null);

/// <summary>
/// Context assembly as a pure function. Order (DESIGN.md "Context assembly"): system prompt, summary, recent turns
/// oldest first, one message with the query-relevant material (recalled older turns under their dates, knowledge
/// chunks, examples), then the newest user turn. Static parts first, so consecutive requests share a prefix.
/// </summary>
public static class ContextAssembly
{
    /// <summary>Reply priming that OpenAI adds to every chat prompt.</summary>
    public const int ReplyPriming = 3;

    /// <summary>The recent window starts only at turn indexes that are multiples of this, so it does not shift every turn.</summary>
    public const int RecentStep = 4;

    public const string MaterialRole = "system";
    public const string RecalledHeader = "Earlier messages relevant now, by date:";
    public const string KnowledgeHeader = "Relevant knowledge:";
    public const string ExamplesHeader = "Examples:";

    private const int RecalledSection = 0;

    /// <summary>
    /// A recalled turn whose line costs more than this is shown as its sentences that hold the query's terms:
    /// on LoCoMo this fits about twice the turns into a budget (recall@1000 0.78 -> 0.84 when introduced).
    /// </summary>
    public const int ExcerptAbove = 15;

    public static (ContextWindow? Window, ContextTooSmall? TooSmall) Assemble(ContextInput input, Tokenizer tokenizer)
    {
        var turns = input.Index.Turns;
        var tokens = input.TurnTokens;
        var systemTokens = SystemTokens(input.SystemPrompt, tokenizer);
        var used = ReplyPriming + systemTokens;
        var mandatory = LastUserTurn(turns);
        string? cutText = null;
        var mandatoryTokens = 0;
        if (mandatory >= 0)
        {
            var turn = turns[mandatory];
            mandatoryTokens = tokens[mandatory];
            if (used + mandatoryTokens > input.Available)
            {
                // Only the newest user turn may be cut, and only at a token boundary; it needs at least one token.
                var overhead = tokenizer.CountMessageTokens(turn.Role, "", turn.Name);
                var room = input.Available - used - overhead;
                if (room < 1)
                {
                    return (null, new ContextTooSmall(used + overhead + 1, input.Available));
                }
                cutText = CutToTokens(turn.Content, room, tokenizer);
                mandatoryTokens = tokenizer.CountMessageTokens(turn.Role, cutText, turn.Name);
            }
        }
        else if (used > input.Available)
        {
            return (null, new ContextTooSmall(used, input.Available));
        }
        used += mandatoryTokens;
        var rest = input.Available - used;
        var end = mandatory >= 0 ? mandatory : turns.Count;

        // Turns after the newest user turn (rare: a tool or assistant turn already answered) stay after it, in order.
        var after = new List<int>();
        for (var i = end + 1; i < turns.Count && tokens[i] <= rest; i++)
        {
            after.Add(i);
            rest -= tokens[i];
            used += tokens[i];
        }

        var query = Ranking.QueryTerms(input.Query ?? (mandatory >= 0 ? turns[mandatory].Content : null));
        var plan = new Plan(rest);
        var knowledge = PackKnowledge(input, query, plan, tokenizer);
        var examples = PackExamples(input, query, plan, tokenizer);

        // The whole history verbatim when it fits: lossless beats recalled.
        var older = 0L;
        for (var i = 0; i < end; i++)
        {
            older += tokens[i];
        }
        var recentStart = end;
        var includeSummary = false;
        List<(int Position, float Score, string Line)> recalled = [];
        if (older <= plan.Left(MaterialOverhead(knowledge.Count + examples.Count > 0, false, tokenizer)))
        {
            recentStart = 0;
        }
        else
        {
            var summaryTokens = SummaryTokens(input.Summary?.Text, tokenizer);
            includeSummary = summaryTokens is { } s && s <= input.Shares.Summary * plan.Total && s <= plan.Left(0);
            if (includeSummary)
            {
                plan.Spend(summaryTokens!.Value);
            }
            recentStart = RecentStart(turns, tokens, end, (int)Math.Min(plan.Left(0), input.Shares.Recent * plan.Total));
            for (var i = recentStart; i < end; i++)
            {
                plan.Spend(tokens[i]);
            }
            recalled = PackRecalled(input, query, recentStart, plan, knowledge.Count + examples.Count > 0, tokenizer);
        }

        // Render, then count exactly: lines were costed one by one, and BPE can merge across a line break.
        var limit = input.Available - used - Sum(tokens, recentStart, end)
            - (includeSummary ? SummaryTokens(input.Summary!.Text, tokenizer)!.Value : 0);
        while (true)
        {
            var material = RenderMaterial(input, recalled, knowledge, examples, tokenizer);
            if (material is null || material.Value.Tokens <= limit)
            {
                return (Build(input, tokenizer, systemTokens, includeSummary, recentStart, end, after, mandatory, cutText,
                    mandatoryTokens, material, recalled, knowledge, examples), null);
            }
            DropWeakest(recalled, knowledge, examples);
        }
    }

    private sealed class Plan(int total)
    {
        public int Total { get; } = total;

        private int _spent;

        public int Left(int overhead) => Math.Max(0, Total - _spent - overhead);

        public void Spend(int tokens) => _spent += tokens;
    }

    private static List<(KnowledgeItem Chunk, float Score)> PackKnowledge(
        ContextInput input, string[] query, Plan plan, Tokenizer tokenizer)
    {
        if (input.Knowledge.Count == 0 || query.Length == 0)
        {
            return [];
        }
        var chunks = input.Knowledge;
        var scores = Ranking.Items(
            input.KnowledgeTerms ?? new Bm25Index([.. chunks.Select(c => TermBag.Of(c.Text))]), chunks.Select(c => c.Vector).ToArray(),
            query, input.QueryVector, input.Index);
        var candidates = Enumerable.Range(0, chunks.Count).Where(i => scores[i] >= Ranking.ChunkThreshold).ToArray();
        var ordered = Diversity.Mmr(candidates, scores, chunks.Select(c => c.Vector).ToArray(), 0.8f, Ranking.DuplicateSimilarity, candidates.Length);
        var costs = new Dictionary<int, int>();
        var header = tokenizer.CountTokens("\n" + KnowledgeHeader);
        var cap = Math.Min((int)(input.Shares.Knowledge * plan.Total), plan.Left(header));
        var taken = Packing.Greedy(ordered, i => new PackCost(costs[i] = tokenizer.CountTokens("\n\n" + chunks[i].Text)), cap);
        plan.Spend(taken.Sum(i => costs[i]) + (taken.Count > 0 ? header : 0));
        return taken.Select(i => (chunks[i], scores[i])).ToList();
    }

    private static List<(ExampleItem Example, float Score)> PackExamples(
        ContextInput input, string[] query, Plan plan, Tokenizer tokenizer)
    {
        if (input.Examples.Count == 0 || input.ExampleCount == 0 || query.Length == 0)
        {
            return [];
        }
        var examples = input.Examples;
        var vectors = examples.Select(e => e.Vector).ToArray();
        var scores = input.QueryVector is { } queryVector
            ? vectors.Select(v => v is null ? 0f : Vectors.Cosine(queryVector, v)).ToArray()
            : Ranking.Items(new Bm25Index([.. examples.Select(e => TermBag.Of(e.Input))]), vectors, query, null, input.Index);
        var candidates = Enumerable.Range(0, examples.Count).Where(i => scores[i] >= Ranking.ExampleThreshold).ToArray();
        var ordered = Diversity.Mmr(candidates, scores, vectors, 0.8f, Ranking.DuplicateSimilarity, input.ExampleCount);
        var costs = new Dictionary<int, int>();
        var header = tokenizer.CountTokens("\n" + ExamplesHeader);
        var cap = Math.Min((int)(input.Shares.Examples * plan.Total), plan.Left(header));
        var taken = Packing.Greedy(ordered, i => new PackCost(costs[i] = tokenizer.CountTokens(ExampleText(examples[i]))), cap);
        plan.Spend(taken.Sum(i => costs[i]) + (taken.Count > 0 ? header : 0));
        return taken.Select(i => (examples[i], scores[i])).ToList();
    }

    private static List<(int Position, float Score, string Line)> PackRecalled(
        ContextInput input, string[] query, int recentStart, Plan plan, bool otherMaterial, Tokenizer tokenizer)
    {
        var index = input.Index;
        if (recentStart == 0 || query.Length == 0)
        {
            return [];
        }
        var scores = Ranking.Turns(index, query, input.QueryVector);
        var weights = query.ToDictionary(t => t, index.Bm25.Idf, StringComparer.Ordinal);
        var candidates = Enumerable.Range(0, recentStart).Where(i => scores[i] >= Ranking.TurnThreshold)
            .OrderByDescending(i => scores[i]).ThenBy(i => i).ToArray();
        if (candidates.Length == 0)
        {
            return [];
        }
        var days = new Dictionary<string, int>(StringComparer.Ordinal);
        var dayTokens = new List<int>();
        var lines = new Dictionary<int, string>();
        PackCost Cost(int i)
        {
            var turn = index.Turns[i];
            if (!days.TryGetValue(turn.Day, out var group))
            {
                days[turn.Day] = group = days.Count;
                dayTokens.Add(tokenizer.CountTokens("\n[" + turn.Day + "]"));
            }
            var (line, cost) = (turn.Line, index.LineTokens(i, tokenizer));
            if (cost > ExcerptAbove)
            {
                // A long turn costs only its sentences that hold the query's terms.
                line = turn.Speaker + ": " + Excerpts.Best(index.Sentences(i), weights);
                cost = line.Length == turn.Line.Length ? cost : tokenizer.CountTokens("\n" + line);
            }
            lines[i] = line;
            return new PackCost(cost, group);
        }
        // By relevance alone: value per token favoured short, weak turns (LoCoMo recall@1000 0.62 against 0.76).
        var taken = Packing.Greedy(candidates, Cost, plan.Left(MaterialOverhead(otherMaterial, true, tokenizer)), dayTokens);
        return taken.Select(i => (i, scores[i], lines[i])).OrderBy(t => t.i).ToList();
    }

    /// <summary>The message's own cost plus the recalled header (when it holds recalled turns).</summary>
    private static int MaterialOverhead(bool hasMaterial, bool recalled, Tokenizer tokenizer) =>
        !hasMaterial && !recalled ? 0
        : tokenizer.CountMessageTokens(MaterialRole, "") + (recalled ? tokenizer.CountTokens(RecalledHeader) : 0);

    /// <summary>
    /// The earliest start whose turns up to <paramref name="end"/> fit <paramref name="cap"/>, moved forward to a
    /// turn index that is a multiple of <see cref="RecentStep"/>: the window then keeps its start for several
    /// turns, and so does the prefix that a provider can cache.
    /// </summary>
    private static int RecentStart(IReadOnlyList<IndexedTurn> turns, IReadOnlyList<int> tokens, int end, int cap)
    {
        var start = end;
        var sum = 0;
        while (start > 0 && sum + tokens[start - 1] <= cap)
        {
            sum += tokens[--start];
        }
        while (start < end && turns[start].Index % RecentStep != 0)
        {
            start++;
        }
        return start;
    }

    private readonly record struct Material(string Content, int Tokens, int Recalled, int Knowledge, int Examples);

    private static Material? RenderMaterial(
        ContextInput input, List<(int Position, float Score, string Line)> recalled, List<(KnowledgeItem Chunk, float Score)> knowledge,
        List<(ExampleItem Example, float Score)> examples, Tokenizer tokenizer)
    {
        if (recalled.Count + knowledge.Count + examples.Count == 0)
        {
            return null;
        }
        var parts = new string[3];
        if (recalled.Count > 0)
        {
            var text = new StringBuilder(RecalledHeader);
            string? day = null;
            foreach (var (position, _, line) in recalled)
            {
                var turn = input.Index.Turns[position];
                if (turn.Day != day)
                {
                    day = turn.Day;
                    text.Append("\n[").Append(day).Append(']');
                }
                text.Append('\n').Append(line);
            }
            parts[0] = text.ToString();
        }
        if (knowledge.Count > 0)
        {
            parts[1] = KnowledgeHeader + string.Concat(knowledge.Select(k => "\n\n" + k.Chunk.Text));
        }
        if (examples.Count > 0)
        {
            parts[2] = ExamplesHeader + string.Concat(examples.Select(e => ExampleText(e.Example)));
        }
        var content = string.Join("\n\n", parts.Where(p => p is not null));
        var total = tokenizer.CountMessageTokens(MaterialRole, content);
        // The message overhead and separators go to the first section present, so the sections add up exactly;
        // with one section present it takes the whole message and nothing is counted twice.
        var first = Array.FindIndex(parts, p => p is not null);
        var counts = parts.Select((p, i) => p is null || i == first ? 0 : tokenizer.CountTokens(p)).ToArray();
        counts[first] = total - counts.Sum();
        return new Material(content, total, counts[0], counts[1], counts[2]);
    }

    private static string ExampleText(ExampleItem example) => "\nInput: " + example.Input + "\nOutput: " + example.Output;

    private static void DropWeakest(
        List<(int Position, float Score, string Line)> recalled, List<(KnowledgeItem Chunk, float Score)> knowledge,
        List<(ExampleItem Example, float Score)> examples)
    {
        if (recalled.Count > 0)
        {
            recalled.RemoveAt(IndexOfMin(recalled.Select(r => r.Score)));
        }
        else if (knowledge.Count > 0)
        {
            knowledge.RemoveAt(IndexOfMin(knowledge.Select(k => k.Score)));
        }
        else
        {
            examples.RemoveAt(IndexOfMin(examples.Select(e => e.Score)));
        }
    }

    private static int IndexOfMin(IEnumerable<float> values)
    {
        var (index, min, i) = (0, float.MaxValue, 0);
        foreach (var value in values)
        {
            if (value < min)
            {
                (index, min) = (i, value);
            }
            i++;
        }
        return index;
    }

    private static ContextWindow Build(
        ContextInput input, Tokenizer tokenizer, int systemTokens, bool includeSummary, int recentStart, int end,
        List<int> after, int mandatory, string? cutText, int mandatoryTokens, Material? material,
        List<(int Position, float Score, string Line)> recalled, List<(KnowledgeItem Chunk, float Score)> knowledge,
        List<(ExampleItem Example, float Score)> examples)
    {
        var turns = input.Index.Turns;
        var messages = new List<ContextMessage>();
        var sections = new List<ContextSection>();
        var total = ReplyPriming;
        if (!string.IsNullOrEmpty(input.SystemPrompt))
        {
            messages.Add(new ContextMessage("system", input.SystemPrompt));
            sections.Add(new ContextSection("system", systemTokens, []));
            total += systemTokens;
        }
        if (includeSummary)
        {
            var content = SummaryMessage(input.Summary!.Text);
            var tokens = tokenizer.CountMessageTokens("system", content);
            messages.Add(new ContextMessage("system", content));
            sections.Add(new ContextSection("summary", tokens, [new SectionItem("summary")]));
            total += tokens;
        }
        var recentItems = new List<SectionItem>();
        var recentTokens = 0;
        void AddTurn(int position, string? text = null, int? cost = null)
        {
            var turn = turns[position];
            messages.Add(new ContextMessage(turn.Role, text ?? turn.Content, turn.Name));
            recentItems.Add(new SectionItem(turn.Id));
            recentTokens += cost ?? input.TurnTokens[position];
        }
        for (var i = recentStart; i < end; i++)
        {
            AddTurn(i);
        }
        if (material is { } m)
        {
            messages.Add(new ContextMessage(MaterialRole, m.Content));
        }
        if (mandatory >= 0)
        {
            AddTurn(mandatory, cutText, mandatoryTokens);
        }
        foreach (var i in after)
        {
            AddTurn(i);
        }
        if (recentItems.Count > 0)
        {
            sections.Add(new ContextSection("recent", recentTokens, recentItems));
            total += recentTokens;
        }
        if (material is { } rendered)
        {
            total += rendered.Tokens;
            if (recalled.Count > 0)
            {
                sections.Add(new ContextSection("recalled", rendered.Recalled,
                    recalled.Select(r => new SectionItem(turns[r.Position].Id, Round(r.Score))).ToArray()));
            }
            if (knowledge.Count > 0)
            {
                sections.Add(new ContextSection("knowledge", rendered.Knowledge,
                    knowledge.Select(k => new SectionItem(k.Chunk.Id, Round(k.Score))).ToArray()));
            }
            if (examples.Count > 0)
            {
                sections.Add(new ContextSection("examples", rendered.Examples,
                    examples.Select(e => new SectionItem(e.Example.Id, Round(e.Score))).ToArray()));
            }
        }
        return new ContextWindow(messages, sections, total);
    }

    private static double Round(float score) => Math.Round(score, 4);

    public static int SystemTokens(string? systemPrompt, Tokenizer tokenizer) =>
        string.IsNullOrEmpty(systemPrompt) ? 0 : tokenizer.CountMessageTokens("system", systemPrompt);

    public static int? SummaryTokens(string? summary, Tokenizer tokenizer) =>
        string.IsNullOrEmpty(summary) ? null : tokenizer.CountMessageTokens("system", SummaryMessage(summary));

    public static string SummaryMessage(string summary) => "Summary of the earlier conversation:\n" + summary;

    /// <summary>
    /// The longest prefix within <paramref name="maxTokens"/>. Re-encoding a prefix can merge differently at the
    /// cut than the whole text did, so the prefix is recounted and the cut moved back until it really fits.
    /// </summary>
    public static string CutToTokens(string text, int maxTokens, Tokenizer tokenizer)
    {
        for (var limit = maxTokens; limit > 0; limit--)
        {
            var index = tokenizer.GetIndexByTokenCount(text, limit, out _, out _);
            var prefix = text[..index];
            if (tokenizer.CountTokens(prefix) <= maxTokens)
            {
                return prefix;
            }
        }
        return "";
    }

    private static int Sum(IReadOnlyList<int> tokens, int from, int to)
    {
        var sum = 0;
        for (var i = from; i < to; i++)
        {
            sum += tokens[i];
        }
        return sum;
    }

    private static int LastUserTurn(IReadOnlyList<IndexedTurn> turns)
    {
        for (var i = turns.Count - 1; i >= 0; i--)
        {
            if (turns[i].Role == "user")
            {
                return i;
            }
        }
        return -1;
    }
}
