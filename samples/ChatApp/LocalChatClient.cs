using Microsoft.Extensions.AI;

namespace ChatApp;

/// <summary>
/// The offline stand-in for a model: it answers a question with the line of its prompt that shares the most words
/// with it (so recalled turns show), and anything else with a short acknowledgement. No network, no key.
/// </summary>
public sealed class LocalChatClient : IChatClient
{
    public const string Name = "local-stand-in";

    public Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        List<ChatMessage> prompt = [.. messages];
        var question = prompt[^1].Text;
        var answer = question.TrimEnd().EndsWith('?') && Recall(prompt[..^1], question) is { } line
            ? $"From what you told me: \"{line}\""
            : $"Noted: {string.Join(' ', question.Split(' ').Take(8))}…";
        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, answer)) { ModelId = Name });
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    /// <summary>The line of the prompt (not the assistant's) with the most words of the question (four letters or more) in common.</summary>
    private static string? Recall(IEnumerable<ChatMessage> prompt, string question)
    {
        var words = Words(question).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return prompt.Where(m => m.Role != ChatRole.Assistant)
            .SelectMany(m => m.Text.Split('\n'))
            .Where(line => !line.StartsWith("assistant:", StringComparison.OrdinalIgnoreCase))
            .Select(line => (Line: line.Trim(), Shared: Words(line).Count(words.Contains)))
            .Where(c => c.Shared > 0)
            .OrderByDescending(c => c.Shared)
            .Select(c => c.Line)
            .FirstOrDefault();
    }

    private static IEnumerable<string> Words(string text) =>
        text.Split([' ', ',', '.', '?', '!', ':', ';', '"'], StringSplitOptions.RemoveEmptyEntries).Where(w => w.Length >= 4);

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
