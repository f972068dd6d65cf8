using ConversationService.Cache;

namespace ConversationService.Tests.Cache;

/// <summary>The cache's pure decisions: what makes two questions one entry, and what keeps near-misses apart.</summary>
public sealed class CacheDecisionsTests
{
    [Theory]
    [InlineData("Can I get a refund of $1,000?", "can I get a refund of 1000 dollars", true)]
    [InlineData("Book a table for two on Friday", "Book a table for 2 on Friday", true)]
    [InlineData("Is breakfast included?", "Is breakfast included in the price?", true)]
    [InlineData("Refund of $40", "Refund of $400", false)]
    [InlineData("Refund of $4.5", "Refund of $45", false)]
    [InlineData("Open on Monday?", "Open on Tuesday?", false)]
    [InlineData("Can I pay by card?", "Can't I pay by card?", false)]
    [InlineData("Can I pay by card?", "Why can I not pay by card?", false)]
    [InlineData("How do I log in?", "How do I log out?", false)]
    [InlineData("Does it work with Slack?", "Does it work with Teams?", false)]
    [InlineData("Upgrade from Standard to Premium?", "Upgrade from Premium to Standard?", false)]
    [InlineData("HOW DO I TRACK MY ORDER", "how do i track my order?", true)]
    public void Given_two_questions_When_guarded_Then_only_those_that_ask_the_same_pass(string a, string b, bool same) =>
        Assert.Equal(same, CacheDecisions.SameGuards(CacheDecisions.Parse(a), CacheDecisions.Parse(b)));

    [Fact]
    public void Given_messages_When_fingerprinted_Then_the_system_prompt_counts_and_the_conversation_only_when_asked()
    {
        CacheMessage[] first = [new("system", "Be brief."), new("user", "I ordered a lamp."), new("user", "Where is it?")];
        CacheMessage[] other = [new("system", "Be brief."), new("user", "I ordered a chair."), new("user", "Where is it?")];
        CacheMessage[] pirate = [new("system", "Talk like a pirate."), new("user", "Where is it?")];

        Assert.Equal(CacheDecisions.Fingerprint(first, false), CacheDecisions.Fingerprint(other, false));
        Assert.NotEqual(CacheDecisions.Fingerprint(first, true), CacheDecisions.Fingerprint(other, true));
        Assert.NotEqual(CacheDecisions.Fingerprint(first, false), CacheDecisions.Fingerprint(pirate, false));
        Assert.Equal(CacheDecisions.Fingerprint(null, false), CacheDecisions.Fingerprint([new("user", "Where is it?")], false));
        Assert.Equal("Where is it?", CacheDecisions.FinalUserMessage(first, null));
    }

    [Fact]
    public void Given_the_same_question_in_other_spelling_When_keyed_Then_the_key_is_one_and_the_model_parts_it()
    {
        var fingerprint = CacheDecisions.Fingerprint(null, false);
        var key = CacheDecisions.Key("gpt-4o", fingerprint, CacheDecisions.Normalize("How do I  reset my password?"));

        Assert.Equal(key, CacheDecisions.Key("gpt-4o", fingerprint, CacheDecisions.Normalize("how do I reset my password")));
        Assert.NotEqual(key, CacheDecisions.Key("gpt-4o-mini", fingerprint, CacheDecisions.Normalize("how do I reset my password")));
        Assert.True(CacheDecisions.IsKey(key));
    }
}
