using System.Collections.Concurrent;
using System.Diagnostics;
using ConversationService.Evaluation.Locomo;
using ConversationService.Evaluation.Reports;
using ConversationService.Evaluation.Scoring;
using ConversationService.Evaluation.Service;
using ConversationService.Tokenizers;
using Microsoft.ML.Tokenizers;

namespace ConversationService.Evaluation;

public sealed record EvaluationSettings(
    IReadOnlyList<string> Files, IReadOnlyList<int> Budgets, string OutputDirectory, string Model, int Concurrency,
    bool Keep, string? PrefixConversation, IReadOnlyList<int> PrefixBudgets, TimeSpan IndexTimeout, string RunId);

/// <summary>
/// The LoCoMo evidence-recall protocol against a running service: ingest, wait for the indexes, ask every
/// question at every budget, compare with the baselines, write the report files.
/// </summary>
public sealed class EvaluationRunner(HttpClient http, EvaluationSettings settings, IRunProgress progress, TimeProvider time)
{
    private static readonly TimeSpan IndexPollInterval = TimeSpan.FromMilliseconds(250);

    private readonly ServiceApi _api = new(http);
    private readonly ConcurrentQueue<string> _created = new();
    private readonly Tokenizer _tokenizer = ExactTiktokenTokenizer.CreateForModel(settings.Model);

    public async Task<EvaluationResult> RunAsync(CancellationToken ct)
    {
        var startedAt = time.GetUtcNow();
        var conversations = settings.Files.Select(LocomoConversation.Load).ToList();
        var serviceIds = conversations.ToDictionary(c => c.Name, c => $"locomo-{settings.RunId}-{c.Name}");
        try
        {
            var (infos, prefix) = await IngestAllAsync(conversations, serviceIds, ct);
            var rows = await AskAllAsync(conversations, serviceIds, ct);
            var result = new EvaluationResult(
                settings.RunId, startedAt, time.GetUtcNow(), settings.Model, settings.Concurrency,
                conversations.Select(c => infos[c.Name]).ToList(), Aggregation.PerBudget(rows, settings.Budgets), prefix, rows);
            ReportFiles.Write(result, settings.OutputDirectory);
            return result;
        }
        finally
        {
            if (!settings.Keep)
            {
                await DeleteCreatedAsync();
            }
        }
    }

    private async Task<(Dictionary<string, ConversationInfo> Infos, List<PrefixSummary> Prefix)> IngestAllAsync(
        List<LocomoConversation> conversations, Dictionary<string, string> serviceIds, CancellationToken ct)
    {
        var prefixName = settings.PrefixConversation ?? conversations[0].Name;
        var infos = new Dictionary<string, ConversationInfo>();
        var prefix = new List<PrefixSummary>();
        var ingest = progress.Stage("ingest", conversations.Sum(c => c.Turns.Count()));
        await Parallel.ForEachAsync(conversations, Options(ct), async (conversation, token) =>
        {
            var (info, shares) = await IngestAsync(
                conversation, serviceIds[conversation.Name], conversation.Name == prefixName, ingest, token);
            lock (infos)
            {
                infos[conversation.Name] = info;
                prefix.AddRange(shares);
            }
        });
        prefix.Sort((a, b) => a.Budget.CompareTo(b.Budget));
        return (infos, prefix);
    }

    private async Task<List<QuestionRow>> AskAllAsync(
        List<LocomoConversation> conversations, Dictionary<string, string> serviceIds, CancellationToken ct)
    {
        var questions = conversations.Sum(c => c.Questions.Count) * settings.Budgets.Count;
        var ask = progress.Stage("ask", questions);
        var rows = new List<QuestionRow>(questions);
        foreach (var conversation in conversations)
        {
            var baselines = BaselineRecalls(conversation);
            var work = conversation.Questions.SelectMany(q => settings.Budgets.Select(b => (Question: q, Budget: b)));
            await Parallel.ForEachAsync(work, Options(ct), async (item, token) =>
            {
                var (question, budget) = item;
                var (context, latency) = await _api.GetContextAsync(
                    serviceIds[conversation.Name], budget, settings.Model, question.Question, token);
                var (newest, bm25) = baselines[(question.Index, budget)];
                var row = new QuestionRow(
                    conversation.Name, question.Index, question.Category, budget, question.Evidence.Count,
                    Metrics.Recall(question.Evidence, context.TurnIds()), context.Tokens, latency, context.Tokens > budget,
                    newest, bm25, question.Question);
                lock (rows)
                {
                    rows.Add(row);
                }
                ask.Advance();
            });
        }
        rows.Sort((a, b) => (a.Conversation, a.QuestionIndex, a.Budget).CompareTo((b.Conversation, b.QuestionIndex, b.Budget)));
        return rows;
    }

    private async Task<(ConversationInfo Info, IReadOnlyList<PrefixSummary> Prefix)> IngestAsync(
        LocomoConversation conversation, string id, bool measurePrefix, IProgressStage ingest, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        await _api.PutConversationAsync(id, settings.Model, ct);
        _created.Enqueue(id);
        var shares = settings.PrefixBudgets.ToDictionary(b => b, _ => new List<double>());
        var previous = new Dictionary<int, IReadOnlyList<ContextMessage>>();
        foreach (var session in conversation.Sessions)
        {
            await _api.AppendAsync(id, session.Turns, ct);
            ingest.Advance(session.Turns.Count);
            if (!measurePrefix)
            {
                continue;
            }
            foreach (var budget in settings.PrefixBudgets)
            {
                var (context, _) = await _api.GetContextAsync(id, budget, settings.Model, query: null, ct);
                if (previous.TryGetValue(budget, out var before))
                {
                    shares[budget].Add(PrefixStability.SharedPrefixShare(before, context.Messages, MessageTokens));
                }
                previous[budget] = context.Messages;
            }
        }
        var ingestSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;

        var waitStarted = Stopwatch.GetTimestamp();
        var state = await WaitUntilIndexedAsync(id, ct);
        var info = new ConversationInfo(
            conversation.Name, id, conversation.Sessions.Count, conversation.Turns.Count(), conversation.Questions.Count,
            conversation.SkippedQuestions, state.TotalTokens, ingestSeconds, Stopwatch.GetElapsedTime(waitStarted).TotalSeconds);
        var summaries = measurePrefix
            ? shares.Select(s => Aggregation.Prefix(conversation.Name, s.Key, s.Value)).ToList()
            : [];
        return (info, summaries);
    }

    private async Task<ConversationState> WaitUntilIndexedAsync(string id, CancellationToken ct)
    {
        var deadline = time.GetUtcNow() + settings.IndexTimeout;
        while (true)
        {
            var state = await _api.GetConversationAsync(id, ct);
            if (state.IndexedVersion >= state.Version)
            {
                return state;
            }
            if (time.GetUtcNow() >= deadline)
            {
                throw new TimeoutException(
                    $"Conversation {id} was not indexed within {settings.IndexTimeout.TotalSeconds:0} s: indexedVersion "
                    + $"{state.IndexedVersion} of version {state.Version}. Is the service's projection daemon running "
                    + "(see its log)? Raise --index-timeout for a slow machine.");
            }
            await Task.Delay(IndexPollInterval, time, ct);
        }
    }

    /// <summary>Newest-turns and BM25 recall of every question at every budget, from local token counts.</summary>
    private Dictionary<(int Question, int Budget), (double Newest, double Bm25)> BaselineRecalls(LocomoConversation conversation)
    {
        var turns = Baselines.Cost(conversation.Turns.Select(t => (t.Id, t.Role, t.Content, (string?)t.Name)), _tokenizer);
        var index = new Bm25Index(turns);
        var recalls = new Dictionary<(int, int), (double, double)>();
        foreach (var budget in settings.Budgets)
        {
            var newest = Baselines.NewestThatFit(turns, budget);
            foreach (var question in conversation.Questions)
            {
                recalls[(question.Index, budget)] = (
                    Metrics.Recall(question.Evidence, newest),
                    Metrics.Recall(question.Evidence, Baselines.Bm25Packed(index, question.Question, budget)));
            }
        }
        return recalls;
    }

    private int MessageTokens(ContextMessage message) => _tokenizer.CountMessageTokens(message.Role, message.Content, message.Name);

    /// <summary>Best effort: a failed run should still not leave its conversations behind.</summary>
    private async Task DeleteCreatedAsync()
    {
        while (_created.TryDequeue(out var id))
        {
            try
            {
                await _api.DeleteConversationAsync(id, CancellationToken.None);
            }
            catch (Exception e) when (e is ServiceException or HttpRequestException)
            {
                progress.Note($"Could not delete {id}: {e.Message}");
            }
        }
    }

    private ParallelOptions Options(CancellationToken ct) => new() { MaxDegreeOfParallelism = settings.Concurrency, CancellationToken = ct };
}
