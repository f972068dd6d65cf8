using ConversationService.Evaluation.Service;

namespace ConversationService.Evaluation.Scoring;

/// <summary>
/// How much of one context a provider's prompt cache could reuse in the next: the tokens of the leading messages
/// both share unchanged, as a share of the previous context's message tokens (reply priming left out).
/// </summary>
public static class PrefixStability
{
    public static double SharedPrefixShare(
        IReadOnlyList<ContextMessage> previous, IReadOnlyList<ContextMessage> next, Func<ContextMessage, int> tokens)
    {
        var total = previous.Sum(tokens);
        if (total == 0)
        {
            return 0;
        }
        var shared = 0;
        for (var i = 0; i < previous.Count && i < next.Count && previous[i] == next[i]; i++)
        {
            shared += tokens(previous[i]);
        }
        return shared / (double)total;
    }
}
