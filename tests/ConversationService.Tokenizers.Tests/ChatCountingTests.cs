namespace ConversationService.Tokenizers.Tests;

public sealed class ChatCountingTests
{
    public static TheoryData<string> Encodings => [.. GoldenCorpus.Encodings];

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Given_golden_chats_When_counted_Then_totals_equal_the_rule_applied_to_tiktoken_ids(string encoding)
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForEncoding(encoding);

        foreach (var chat in GoldenCorpus.Instance.Chats)
        {
            Assert.Equal(chat.Tokens[encoding], tokenizer.CountChatTokens(chat.Messages));
        }
    }

    [Fact]
    public void Given_a_named_message_When_counted_Then_it_adds_name_tokens_plus_one()
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4o");

        var anonymous = tokenizer.CountMessageTokens("user", "Hello there");
        var named = tokenizer.CountMessageTokens("user", "Hello there", "Alice");

        Assert.Equal(3 + 1 + 2, anonymous);
        Assert.Equal(anonymous + tokenizer.CountTokens("Alice") + 1, named);
    }

    [Fact]
    public void Given_no_messages_When_counted_Then_only_reply_priming_remains()
    {
        Assert.Equal(3, ExactTiktokenTokenizer.CreateForModel("gpt-4o").CountChatTokens([]));
    }

    [Fact]
    public void Given_messages_When_chat_counted_Then_total_is_priming_plus_each_message()
    {
        var tokenizer = ExactTiktokenTokenizer.CreateForModel("gpt-4");
        ChatMessage[] messages = [new("system", "Be brief."), new("user", "Hi!", "bob"), new("assistant", "Hello.")];

        var expected = 3 + messages.Sum(m => tokenizer.CountMessageTokens(m.Role, m.Content, m.Name));

        Assert.Equal(expected, tokenizer.CountChatTokens(messages));
    }
}
