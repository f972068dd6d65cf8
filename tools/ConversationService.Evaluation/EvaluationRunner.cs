using System.Diagnostics;
using ConversationService.Evaluation.Locomo;
using ConversationService.Evaluation.Reports;
using ConversationService.Evaluation.Scoring;
using ConversationService.Evaluation.Service;
using ConversationService.Tokenizers;

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
    private readonly TiktokenTokenizer _tokenizer = TiktokenTokenizer.CreateForModel(settings.Model);

    public async Task<EvaluationResult> RunAsync(CancellationToken ct)
    {
        var startedAt = time.GetUtcNow();
        var conversations = settings.Files.Select(LocomoConversation.Load).ToList();
        var prefixName = settings.PrefixConversation ?? conversations[0].Name;
        var serviceIds = conversations.ToDictionary(c => c.Name, c => $"locomo-{settings.RunId}-{c.Name}");
        var infos = new Dictionary<string, ConversationInfo>();
        var prefix = new List<PrefixSummary>();
        var created = new List<string>();
        try
        {
            var ingest = progress.Stage("ingest", conversations.Sum(c => c.Turns.Count()));
            await Parallel.ForEachAsync(conversations, Options(ct), async (conversation, token) =>
            {
                var id = serviceIds[conversation.Name];
                lock (created)
                {
                    created.Add(id);
                }
                var (info, shares) = await IngestAsync(conversation, id, conversation.Name == prefixName, ingest, token);
                lock (infos)
                {
                    infos[conversation.Name] = info;
                    prefix.AddRange(shares);
                }
            });

            var questions = conversations.Sum(c => c.Questions.Count) * settings.Budgets.Count;
            var ask = progress.Stage("ask", questions);
            var rows = new List<QuestionRow>(questions);
            foreach (var conversation in conversations)
            {
                var baselines = BaselineRecalls(conversation);
                var work = conversation.Questions.SelectMany(q => settings.Budgets.Select(b => (Question: q, Budget: b)));
                await Parallel.ForEachAsync(work, Options(ct), async (item, token) =>
                {
                    var (context, latency) = await _api.GetContextAsync(
                        serviceIds[conversation.Name], item.Budget, settings.Model, item.Question.Question, token);
                    var (newest, bm25) = baselines[(item.Question.Index, item.Budget)];
                    var row = new QuestionRow(
                        conversation.Name, item.Question.Index, item.Question.Category, item.Budget, item.Question.Evidence.Count,
                        Metrics.Recall(item.Question.Evidence, context.TurnIds()), context.Tokens, latency,
                        context.Tokens > item.Budget, newest, bm25, item.Question.Question);
                    lock (rows)
                    {
                        rows.Add(row);
                    }
                    ask.Advance();
                });
            }

            rows.Sort((a, b) => (a.Conversation, a.QuestionIndex, a.Budget).CompareTo((b.Conversation, b.QuestionIndex, b.Budget)));
            var result = new EvaluationResult(
                settings.RunId, startedAt, time.GetUtcNow(), settings.Model, settings.Concurrency,
                conversations.Select(c => infos[c.Name]).ToList(), Aggregation.PerBudget(rows, settings.Budgets),
                prefix.OrderBy(p => p.Budget).ToList(), rows);
            ReportFiles.Write(result, settings.OutputDirectory);
            return result;
        }
        finally
        {
            if (!settings.Keep)
            {
                await DeleteAsync(created);
            }
        }
    }

    private async Task<(ConversationInfo Info, IReadOnlyList<PrefixSummary> Prefix)> IngestAsync(
        LocomoConversation conversation, string id, bool measurePrefix, IProgressStage ingest, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        await _api.PutConversationAsync(id, settings.Model, ct);
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
    private async Task DeleteAsync(IEnumerable<string> ids)
    {
        foreach (var id in ids)
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
