using Microsoft.ML.Tokenizers;

namespace ConversationService.Tokenizers;

/// <summary>Prompt tokens of OpenAI's chat format, for any <see cref="Tokenizer"/>.</summary>
public static class ChatTokens
{
    /// <summary>Prompt tokens of a chat request: per message 3 + role + content (+ name + 1), plus 3 for reply priming.</summary>
    public static int CountChatTokens(this Tokenizer tokenizer, IEnumerable<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var total = 3;
        foreach (var message in messages)
        {
            total += tokenizer.CountMessageTokens(message.Role, message.Content, message.Name);
        }

        return total;
    }

    /// <summary>Tokens one message adds to a chat prompt (without the 3 of reply priming).</summary>
    public static int CountMessageTokens(this Tokenizer tokenizer, string role, string content, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(role);
        ArgumentNullException.ThrowIfNull(content);
        var tokens = 3 + tokenizer.CountTokens(role) + tokenizer.CountTokens(content);
        return name is null ? tokens : tokens + tokenizer.CountTokens(name) + 1;
    }
}
