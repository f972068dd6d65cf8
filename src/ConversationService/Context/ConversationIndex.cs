using System.Globalization;
using System.Numerics.Tensors;
using ConversationService.Relevance;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Context;

/// <summary>A stored turn with what recall needs: its content and when it happened.</summary>
public sealed record IndexedTurn(string Id, int Index, string Role, string? Name, string Content, DateTimeOffset OccurredAt)
{
    /// <summary>Who spoke, as a recalled line names them.</summary>
    public string Speaker => Name ?? Role;

    /// <summary>The turn as one line of the recalled-material message.</summary>
    public string Line { get; } = (Name ?? Role) + ": " + Content;

    // Computed once: ranking and rendering ask for it for every candidate of every request.
    public string Day { get; } = OccurredAt.UtcDateTime.ToString("d MMMM yyyy", CultureInfo.InvariantCulture);
}

/// <summary>
/// A conversation's ranking state: the turns, their term bags, vectors, BM25 index and sessions. Immutable, so
/// one instance serves concurrent requests; a grown conversation gets a new instance that reuses the per-turn
/// work of the old one (<see cref="Append"/>), so a request after a new turn pays only for that turn.
/// </summary>
public sealed class ConversationIndex
{
    /// <summary>A pause longer than this starts a new session (LoCoMo sessions share one timestamp).</summary>
    private static readonly TimeSpan SessionGap = TimeSpan.FromHours(1);

    private readonly TermBag[] _bags;
    private readonly float[]?[] _vectors;
    private readonly int[] _sessions;
    private readonly string[] _speakers;
    // By tokenizer instance: there is one per encoding.
    private readonly Dictionary<Tokenizer, int[]> _lineTokens = new(ReferenceEqualityComparer.Instance);
    private readonly SentenceTerms?[] _sentences;
    private float[]? _norms;

    private ConversationIndex(IndexedTurn[] turns, TermBag[] bags, float[]?[] vectors, SentenceTerms?[] sentences)
    {
        Turns = turns;
        _bags = bags;
        _vectors = vectors;
        _sentences = sentences;
        Bm25 = new Bm25Index(bags);
        _speakers = turns.Select(t => Terms.Extract(t.Speaker).FirstOrDefault() ?? "").ToArray();
        _sessions = new int[turns.Length];
        for (var i = 1; i < turns.Length; i++)
        {
            _sessions[i] = _sessions[i - 1] + (turns[i].OccurredAt - turns[i - 1].OccurredAt > SessionGap ? 1 : 0);
        }
    }

    public static ConversationIndex Empty { get; } = new([], [], [], []);

    public IReadOnlyList<IndexedTurn> Turns { get; }

    public Bm25Index Bm25 { get; }

    public IReadOnlyList<float[]?> Vectors => _vectors;

    /// <summary>The vectors' L2 norms (0 where missing), computed once per index: every ranking divides by them.</summary>
    public IReadOnlyList<float> Norms => _norms ??= [.. _vectors.Select(v => v is null ? 0f : TensorPrimitives.Norm(v))];

    public IReadOnlyList<int> Sessions => _sessions;

    public TermBag Bag(int position) => _bags[position];

    /// <summary>The term a query names this turn's speaker by ("" when the name yields none).</summary>
    public string SpeakerTerm(int position) => _speakers[position];

    /// <summary>This index plus newer turns; <paramref name="vectors"/> holds one vector (or null) per new turn.</summary>
    public ConversationIndex Append(IReadOnlyList<IndexedTurn> turns, IReadOnlyList<float[]?> vectors) =>
        new([.. Turns, .. turns], [.. _bags, .. turns.Select(BagOf)], [.. _vectors, .. vectors],
            [.. _sentences, .. new SentenceTerms?[turns.Count]]);

    /// <summary>Positions of the turns that have no vector (the embedding projection has not reached them yet).</summary>
    public int[] MissingVectors() => Enumerable.Range(0, _vectors.Length).Where(i => _vectors[i] is null).ToArray();

    /// <summary>Whether every turn has its vector, so ranking again could not change the answer.</summary>
    public bool HasAllVectors => Array.TrueForAll(_vectors, v => v is not null);

    /// <summary>This index with vectors filled in at <paramref name="positions"/> (null entries stay missing).</summary>
    public ConversationIndex WithVectors(IReadOnlyList<int> positions, IReadOnlyList<float[]?> vectors)
    {
        var filled = (float[]?[])_vectors.Clone();
        for (var i = 0; i < positions.Count; i++)
        {
            filled[positions[i]] ??= vectors[i];
        }
        return new ConversationIndex((IndexedTurn[])Turns, _bags, filled, _sentences);
    }

    /// <summary>
    /// Terms a turn is found by: its words, its speaker's name (questions name who said it) and its day, month
    /// and year (questions ask about a time).
    /// </summary>
    public static TermBag BagOf(IndexedTurn turn) =>
        TermBag.From(Terms.Extract(turn.Speaker + " " + turn.Content + " " + turn.Day));

    /// <summary>
    /// The turn's sentences and their terms, split on first use: long turns are excerpted by them on every request
    /// that considers them. Racing requests may both split a turn; either result is the same.
    /// </summary>
    public SentenceTerms Sentences(int position) => _sentences[position] ??= SentenceTerms.Of(Turns[position].Content);

    /// <summary>Tokens of each turn's line in the given encoding, counted once per turn and encoding, on demand.</summary>
    public int LineTokens(int position, Tokenizer tokenizer)
    {
        int[] counts;
        lock (_lineTokens)
        {
            if (!_lineTokens.TryGetValue(tokenizer, out counts!))
            {
                _lineTokens[tokenizer] = counts = new int[Turns.Count];
            }
        }
        var count = Volatile.Read(ref counts[position]);
        if (count == 0)
        {
            // "\n" + line: the newline that separates it from the line before is part of its cost.
            count = tokenizer.CountTokens("\n" + Turns[position].Line);
            Volatile.Write(ref counts[position], count);
        }
        return count;
    }
}
