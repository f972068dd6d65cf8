using ConversationService.Context;
using ConversationService.Relevance;
using ConversationService.Tokenizers;
using ConversationService.Tokenizers.Tests;
using Xunit.Abstractions;

namespace ConversationService.Tests.Context;

/// <summary>
/// Issue 5's prefix stability: as a LoCoMo conversation grows turn by turn, the share of a context's tokens that
/// form an identical prefix of the next context (what a provider's prompt cache can reuse). A LoCoMo gate
/// (scripts/eval/run.sh).
/// </summary>
[Trait("Category", LocomoData.Category)]
public sealed class PrefixStabilityTests(ITestOutputHelper output)
{
    private const string SystemPrompt = "You are a warm, attentive companion. Remember what the user told you and refer back to it when it helps. Keep answers short.";

    [Fact]
    public void Given_a_conversation_growing_turn_by_turn_When_each_newest_turn_asks_for_context_Then_recent_turns_extend_the_prefix_the_next_context_shares()
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");
        var embedder = new LexicalEmbeddingGenerator();
        var conversation = LocomoRecall.Conversations[0];
        var turns = conversation.Index.Turns;
        foreach (var budget in new[] { 1000, 4000 })
        {
            ContextWindow? previous = null;
            var (shared, total, system) = (0L, 0L, 0L);
            for (var n = 200; n <= 260; n++)
            {
                var index = ConversationIndex.Empty.Append(turns.Take(n).ToArray(), turns.Take(n).Select(t => (float[]?)embedder.Embed(t.Content)).ToArray());
                var query = turns.Take(n).Last(t => t.Role == "user").Content;
                var (window, _) = ContextAssembly.Assemble(new ContextInput(budget, SystemPrompt, null, index, conversation.Tokens[..n],
                    query, embedder.Embed(query), KnowledgeSet.Empty, [], 0, ContextShares.Default), tokenizer);
                if (previous is not null)
                {
                    shared += SharedPrefixTokens(previous, window!, tokenizer);
                    total += previous.Tokens;
                    system += previous.Sections[0].Tokens;
                }
                previous = window;
            }
            var share = (double)shared / total;
            output.WriteLine($"budget {budget}: {share:P1} of each context's tokens are an identical prefix of the next (system prompt alone {(double)system / total:P1})");
            Assert.True(shared > system, $"prefix share {share:P1} at {budget}: recent turns should extend the shared prefix");
        }
    }

    private static long SharedPrefixTokens(ContextWindow before, ContextWindow after, ExactTiktokenTokenizer tokenizer)
    {
        var tokens = 0L;
        for (var i = 0; i < Math.Min(before.Messages.Count, after.Messages.Count) && before.Messages[i] == after.Messages[i]; i++)
        {
            var m = before.Messages[i];
            tokens += tokenizer.CountMessageTokens(m.Role, m.Content, m.Name);
        }
        return tokens;
    }
}
