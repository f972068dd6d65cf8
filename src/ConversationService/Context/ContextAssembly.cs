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
/// </summary>
public sealed record ContextInput(
    int Available, string? SystemPrompt, SummaryInput? Summary, ConversationIndex Index, IReadOnlyList<int> TurnTokens,
    string? Query, float[]? QueryVector, KnowledgeSet Knowledge, IReadOnlyList<ExampleItem> Examples,
    int ExampleCount, ContextShares Shares, FusionWeights? Fusion = null)
{
    /// <summary>How BM25 and the vectors' cosine are fused: the embedder's weights (the lexical hash's by default).</summary>
    public FusionWeights Weights => Fusion ?? FusionWeights.LexicalHash;
}

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

    /// <summary>
    /// A recalled turn whose line costs more than this is shown as its sentences that hold the query's terms:
    /// on LoCoMo this fits about twice the turns into a budget (recall@1000 0.78 -> 0.84 when introduced).
    /// </summary>
    public const int ExcerptAbove = 15;

    public static (ContextWindow? Window, ContextTooSmall? TooSmall) Assemble(ContextInput input, Tokenizer tokenizer)
    {
        var systemTokens = SystemTokens(input.SystemPrompt, tokenizer);
        var (newest, tooSmall) = FitNewestUserTurn(input, ReplyPriming + systemTokens, tokenizer);
        if (tooSmall is not null)
        {
            return (null, tooSmall);
        }
        var turns = input.Index.Turns;
        var end = newest.Position >= 0 ? newest.Position : turns.Count;
        var used = ReplyPriming + systemTokens + newest.Tokens;
        var after = TurnsAfter(input.TurnTokens, end, input.Available - used);
        used += after.Sum(i => input.TurnTokens[i]);

        var query = Ranking.QueryTerms(input.Query ?? (newest.Position >= 0 ? turns[newest.Position].Content : null));
        var plan = new Plan(input.Available - used);
        var knowledge = PackKnowledge(input, query, plan, tokenizer);
        var examples = PackExamples(input, query, plan, tokenizer);
        var older = ChooseOlder(input, query, end, plan, knowledge.Count + examples.Count > 0, tokenizer);
        var selection = new Selection(systemTokens, newest, end, after, older, knowledge, examples);

        // Render, then count exactly: lines were costed one by one, and BPE can merge across a line break.
        var limit = input.Available - used - Sum(input.TurnTokens, older.RecentStart, end) - (older.SummaryTokens ?? 0);
        while (true)
        {
            var material = RenderMaterial(input, older.Recalled, knowledge, examples, tokenizer);
            if (material is null || material.Value.Tokens <= limit)
            {
                return (Build(input, selection, material), null);
            }
            DropWeakest(older.Recalled, knowledge, examples);
        }
    }

    /// <summary>The newest user turn (position -1 when there is none), cut to fit when it alone exceeds the budget.</summary>
    private readonly record struct NewestTurn(int Position, string? CutText, int Tokens);

    /// <summary>How the history before the newest user turn is shown: verbatim from a start, a summary, recalled turns.</summary>
    private sealed record Older(int RecentStart, int? SummaryTokens, List<(int Position, float Score, string Line)> Recalled);

    /// <summary>Everything chosen for one window, before it is rendered.</summary>
    private sealed record Selection(
        int SystemTokens, NewestTurn Newest, int End, List<int> After, Older Older,
        List<(KnowledgeItem Chunk, float Score)> Knowledge, List<(ExampleItem Example, float Score)> Examples);

    private static (NewestTurn Newest, ContextTooSmall? TooSmall) FitNewestUserTurn(ContextInput input, int used, Tokenizer tokenizer)
    {
        var position = LastUserTurn(input.Index.Turns);
        if (position < 0)
        {
            return (new NewestTurn(-1, null, 0), used > input.Available ? new ContextTooSmall(used, input.Available) : null);
        }
        var tokens = input.TurnTokens[position];
        if (used + tokens <= input.Available)
        {
            return (new NewestTurn(position, null, tokens), null);
        }
        // Only the newest user turn may be cut, and only at a token boundary; it needs at least one token.
        var turn = input.Index.Turns[position];
        var overhead = tokenizer.CountMessageTokens(turn.Role, "", turn.Name);
        var room = input.Available - used - overhead;
        if (room < 1)
        {
            return (default, new ContextTooSmall(used + overhead + 1, input.Available));
        }
        var cut = CutToTokens(turn.Content, room, tokenizer);
        return (new NewestTurn(position, cut, tokenizer.CountMessageTokens(turn.Role, cut, turn.Name)), null);
    }

    /// <summary>Turns after the newest user turn (rare: a tool or assistant turn already answered), in order, while they fit.</summary>
    private static List<int> TurnsAfter(IReadOnlyList<int> tokens, int end, int rest)
    {
        var after = new List<int>();
        for (var i = end + 1; i < tokens.Count && tokens[i] <= rest; i++)
        {
            after.Add(i);
            rest -= tokens[i];
        }
        return after;
    }

    /// <summary>
    /// The whole history verbatim when it fits (lossless beats recalled); otherwise the summary, the recent turns within
    /// their share and the relevant older turns in what is left.
    /// </summary>
    private static Older ChooseOlder(ContextInput input, string[] query, int end, Plan plan, bool otherMaterial, Tokenizer tokenizer)
    {
        if (input.TurnTokens.Take(end).Sum(t => (long)t) <= plan.Left(MaterialOverhead(otherMaterial, false, tokenizer)))
        {
            return new Older(0, null, []);
        }
        var summaryTokens = SummaryTokens(input.Summary?.Text, tokenizer);
        if (summaryTokens is { } s && s <= input.Shares.Summary * plan.Total && s <= plan.Left(0))
        {
            plan.Spend(s);
        }
        else
        {
            summaryTokens = null;
        }
        var recentCap = (int)Math.Min(plan.Left(0), input.Shares.Recent * plan.Total);
        var recentStart = RecentStart(input.Index.Turns, input.TurnTokens, end, recentCap);
        plan.Spend(Sum(input.TurnTokens, recentStart, end));
        return new Older(recentStart, summaryTokens, PackRecalled(input, query, recentStart, plan, otherMaterial, tokenizer));
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
        var (chunks, vectors) = (input.Knowledge.Items, input.Knowledge.Vectors);
        if (chunks.Count == 0 || query.Length == 0)
        {
            return [];
        }
        var scores = Ranking.Items(input.Knowledge.Terms, vectors, query, input.QueryVector, input.Index, input.Weights);
        var candidates = new List<int>();
        for (var i = 0; i < scores.Length; i++)
        {
            if (scores[i] >= Ranking.ChunkThreshold)
            {
                candidates.Add(i);
            }
        }
        // Lazy: packing stops taking chunks when the share is spent, and MMR stops with it.
        var ordered = Diversity.Mmr(candidates, scores, vectors.Cosine, 0.8f, Ranking.DuplicateSimilarity, candidates.Count);
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
        // Scored like knowledge chunks: a model's cosine counts only above what unrelated texts reach (Arctic's sit
        // near 0.5, so a raw cosine would pass every example), fused with BM25 so the threshold means the same for
        // every embedder.
        var scores = Ranking.Items(new Bm25Index([.. examples.Select(e => TermBag.Of(e.Input))]), new VectorRows(vectors),
            query, input.QueryVector, input.Index, input.Weights);
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
        var scores = Ranking.Turns(index, query, input.QueryVector, input.Weights);
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

    private static ContextWindow Build(ContextInput input, Selection selection, Material? material)
    {
        var turns = input.Index.Turns;
        var messages = new List<ContextMessage>();
        var sections = new List<ContextSection>();
        var total = ReplyPriming;
        if (!string.IsNullOrEmpty(input.SystemPrompt))
        {
            messages.Add(new ContextMessage("system", input.SystemPrompt));
            sections.Add(new ContextSection("system", selection.SystemTokens, []));
            total += selection.SystemTokens;
        }
        if (selection.Older.SummaryTokens is { } summaryTokens)
        {
            messages.Add(new ContextMessage("system", SummaryMessage(input.Summary!.Text)));
            sections.Add(new ContextSection("summary", summaryTokens, [new SectionItem("summary")]));
            total += summaryTokens;
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
        for (var i = selection.Older.RecentStart; i < selection.End; i++)
        {
            AddTurn(i);
        }
        if (material is { } m)
        {
            messages.Add(new ContextMessage(MaterialRole, m.Content));
        }
        if (selection.Newest is { Position: >= 0 } newest)
        {
            AddTurn(newest.Position, newest.CutText, newest.Tokens);
        }
        foreach (var i in selection.After)
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
            AddScored(sections, "recalled", rendered.Recalled, selection.Older.Recalled.Select(r => (turns[r.Position].Id, r.Score)));
            AddScored(sections, "knowledge", rendered.Knowledge, selection.Knowledge.Select(k => (k.Chunk.Id, k.Score)));
            AddScored(sections, "examples", rendered.Examples, selection.Examples.Select(e => (e.Example.Id, e.Score)));
        }
        return new ContextWindow(messages, sections, total);
    }

    private static void AddScored(List<ContextSection> sections, string kind, int tokens, IEnumerable<(string Id, float Score)> items)
    {
        var scored = items.Select(item => new SectionItem(item.Id, Round(item.Score))).ToArray();
        if (scored.Length > 0)
        {
            sections.Add(new ContextSection(kind, tokens, scored));
        }
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
