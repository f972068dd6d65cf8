using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace ConversationService.Client.Chat;

/// <summary>
/// Conversation memory around a chat client. Before each call it fetches the conversation's context window for the
/// newest user message (budget: the model's window minus the answer's reserve and the new messages) and sends the
/// model that window instead of the full history; after the call it appends the user's and the assistant's turns in
/// one atomic batch, with ids, so retries store nothing twice.
/// </summary>
public sealed partial class ConversationMemoryChatClient(
    IChatClient inner, ConversationServiceClient client, ConversationMemoryOptions memory, ILogger<ConversationMemoryChatClient> logger)
    : DelegatingChatClient(inner)
{
    private const string DefaultModel = "gpt-4o";

    // The 3 tokens that prime the reply are counted once per prompt: a count of the new messages alone includes them too.
    private const int ReplyPriming = 3;

    public override async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        List<ChatMessage> given = [.. messages];
        var plan = await PlanAsync(given, options, cancellationToken);
        if (plan is null)
        {
            return await base.GetResponseAsync(given, options, cancellationToken);
        }
        using var activity = plan.Activity;
        var response = await base.GetResponseAsync(plan.Messages, plan.InnerOptions, cancellationToken);
        var report = await RememberAsync(plan, response, cancellationToken);
        (response.AdditionalProperties ??= [])[ConversationMemoryReport.Key] = report;
        return response;
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        List<ChatMessage> given = [.. messages];
        var plan = await PlanAsync(given, options, cancellationToken);
        if (plan is null)
        {
            await foreach (var update in base.GetStreamingResponseAsync(given, options, cancellationToken))
            {
                yield return update;
            }
            yield break;
        }
        using var activity = plan.Activity;
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in base.GetStreamingResponseAsync(plan.Messages, plan.InnerOptions, cancellationToken))
        {
            updates.Add(update);
            yield return update;
        }
        var report = await RememberAsync(plan, updates.ToChatResponse(), cancellationToken);
        yield return new ChatResponseUpdate(ChatRole.Assistant, (string?)null)
        {
            AdditionalProperties = new() { [ConversationMemoryReport.Key] = report },
        };
    }

    /// <summary>What one call sends, and what it remembers afterwards; null when the call is not about a conversation.</summary>
    private sealed record Plan(
        string ConversationId, NewTurn UserTurn, IReadOnlyList<ChatMessage> Messages, ChatOptions? InnerOptions,
        ContextWindow? Window, int AddedTokens, Activity? Activity);

    private async Task<Plan?> PlanAsync(List<ChatMessage> messages, ChatOptions? options, CancellationToken ct)
    {
        var conversationId = options?.ConversationId ?? memory.ConversationId;
        var newest = messages.FindLastIndex(m => m.Role == ChatRole.User);
        if (conversationId is null || newest < 0)
        {
            return null;
        }
        var activity = ConversationServiceClient.ActivitySource.StartActivity("conversation_memory");
        // The conversation id is the service's, not the provider's: the inner client must not treat it as a thread of its own.
        var innerOptions = options?.Clone();
        innerOptions?.ConversationId = null;
        var user = messages[newest];
        var userTurn = new NewTurn(TurnRoles.User, user.Text, TurnId(user.MessageId), user.AuthorName);
        // The app's system messages stay in front; the new messages from the newest user message on stay last.
        var head = messages.Take(newest).Where(m => m.Role == ChatRole.System).ToList();
        var tail = messages.Skip(newest).ToList();
        try
        {
            var model = memory.Model ?? options?.ModelId ?? InnerClient.GetService<ChatClientMetadata>()?.DefaultModelId ?? DefaultModel;
            var own = await client.TokenizeAsync(new TokenizeRequest(model, Messages: [.. head.Concat(tail).Select(ToContextMessage)]), ct);
            var added = own.Tokens - ReplyPriming;
            var request = new ContextRequest
            {
                Budget = memory.ContextWindow,
                Reserve = memory.ReserveTokens + added,
                Model = model,
                Query = user.Text,
                Collections = memory.Collections.Count > 0 ? string.Join(',', memory.Collections) : null,
                Task = memory.Task,
                Examples = memory.Examples > 0 ? memory.Examples : null,
            };
            var window = await ContextAsync(conversationId, request, ct);
            activity?.SetTag("conversation_memory.prompt_tokens", window.Tokens + added);
            activity?.SetTag("conversation_memory.full_history_tokens", window.FullHistoryTokens + added);
            return new Plan(
                conversationId, userTurn, [.. head, .. window.Messages.Select(ToChatMessage), .. tail], innerOptions, window, added, activity);
        }
        catch (Exception e) when (memory.PassThroughWhenUnavailable && IsUnavailable(e, ct))
        {
            logger.LogWarning(e, "Conversation memory unavailable for this call: the messages pass through unchanged");
            activity?.SetTag("conversation_memory.passed_through", true);
            return new Plan(conversationId, userTurn, messages, innerOptions, null, 0, activity);
        }
        catch
        {
            activity?.Dispose();
            throw;
        }
    }

    /// <summary>The context window; a conversation's first call creates it (for the model), so knowledge and examples apply.</summary>
    private async Task<ContextWindow> ContextAsync(string conversationId, ContextRequest request, CancellationToken ct)
    {
        try
        {
            return await client.GetContextAsync(conversationId, request, ct);
        }
        catch (ConversationServiceNotFoundException)
        {
            await client.PutConversationAsync(conversationId, new ConversationSettings(Model: request.Model), ct: ct);
            return await client.GetContextAsync(conversationId, request, ct);
        }
    }

    private async Task<ConversationMemoryReport> RememberAsync(Plan plan, ChatResponse response, CancellationToken ct)
    {
        var answers = response.Messages.Where(m => m.Role == ChatRole.Assistant && m.Text.Length > 0).ToList();
        // Derived from the user turn's id: a repeated append of this exchange is recognised and stores nothing.
        var turns = answers.Select((m, i) => new NewTurn(
            TurnRoles.Assistant, m.Text, $"{plan.UserTurn.Id}.a{i + 1}", m.AuthorName));
        var remembered = false;
        try
        {
            await client.AppendTurnsAsync(plan.ConversationId, [plan.UserTurn, .. turns], ct: ct);
            remembered = true;
        }
        catch (Exception e) when (memory.PassThroughWhenUnavailable && IsUnavailable(e, ct))
        {
            logger.LogWarning(e, "Conversation memory unavailable: this exchange was not remembered");
        }
        plan.Activity?.SetTag("conversation_memory.remembered", remembered);
        return new ConversationMemoryReport(
            plan.ConversationId, plan.Window?.Tokens + plan.AddedTokens, plan.Window?.FullHistoryTokens + plan.AddedTokens,
            plan.Window?.Sections ?? [], plan.Window is null, remembered);
    }

    /// <summary>Anything but a 4xx answer (the request was wrong) and the caller's own cancellation.</summary>
    private static bool IsUnavailable(Exception e, CancellationToken ct) =>
        e is not ConversationServiceException { IsClientError: true } && !(e is OperationCanceledException && ct.IsCancellationRequested);

    /// <summary>The message's own id when the service accepts it as a turn id, else a new one.</summary>
    private static string TurnId(string? messageId) =>
        messageId is not null && TurnIdRule().IsMatch(messageId) ? messageId : $"m-{Guid.NewGuid():N}";

    private static ContextMessage ToContextMessage(ChatMessage message) => new(message.Role.Value, message.Text, message.AuthorName);

    private static ChatMessage ToChatMessage(ContextMessage message) =>
        new(new ChatRole(message.Role), message.Content) { AuthorName = message.Name };

    // The assistant turns append ".aN" to the id: room is left for it.
    [GeneratedRegex("^[A-Za-z0-9._:-]{1,120}$")]
    private static partial Regex TurnIdRule();
}
