using System.Text;

namespace ConversationService.Summaries;

/// <summary>The instruction and input of an LLM summary: pure text, so it can be tested and measured.</summary>
public static class SummaryPrompt
{
    public static string System(int maxTokens) =>
        "You maintain the rolling summary of a conversation. Merge the previous summary and the new turns into one "
        + $"updated summary of at most {maxTokens} tokens. Keep names, dates, numbers, facts, preferences, decisions "
        + "and open questions, attributed to who said them; drop greetings and filler. Write plain concise sentences "
        + "with no preamble.";

    public static string User(string? previousSummary, IReadOnlyList<SummaryTurn> turns)
    {
        var text = new StringBuilder();
        text.Append("Previous summary:\n").Append(string.IsNullOrWhiteSpace(previousSummary) ? "(none)" : previousSummary);
        text.Append("\n\nNew turns:\n");
        foreach (var turn in turns)
        {
            text.Append(string.IsNullOrWhiteSpace(turn.Name) ? turn.Role : turn.Name).Append(": ").Append(turn.Content).Append('\n');
        }
        return text.ToString();
    }
}
