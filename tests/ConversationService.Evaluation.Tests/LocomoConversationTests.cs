using ConversationService.Evaluation.Locomo;

namespace ConversationService.Evaluation.Tests;

public sealed class LocomoConversationTests
{
    [Theory]
    [InlineData("1:56 pm on 8 May, 2023", "2023-05-08T13:56:00Z")]
    [InlineData("12:09 am on 13 September, 2023", "2023-09-13T00:09:00Z")]
    [InlineData("12:30 pm on 1 January, 2024", "2024-01-01T12:30:00Z")]
    [InlineData("10:04 am on 19 December, 2023", "2023-12-19T10:04:00Z")]
    public void Given_a_session_date_When_parsed_Then_it_is_that_moment_in_UTC(string text, string expected)
    {
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), LocomoConversation.ParseSessionDate(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("8 May 2023")]
    [InlineData("13:56 pm on 8 May, 2023")]
    [InlineData("1:56 pm on 31 February, 2023")]
    public void Given_text_that_is_no_session_date_When_parsed_Then_it_is_null(string text)
    {
        Assert.Null(LocomoConversation.ParseSessionDate(text));
    }

    [Fact]
    public void Given_a_LoCoMo_file_When_loaded_Then_turns_follow_the_protocol_in_session_order()
    {
        using var data = new SyntheticLocomo();

        var conversation = LocomoConversation.Load(data.Path);

        Assert.Equal("conv-1", conversation.Name);
        Assert.Equal([2, 10], conversation.Sessions.Select(s => s.Number));
        Assert.Equal(["D2:1", "D2:2", "D2:3", "D2:4", "D2:5", "D10:1", "D10:2", "D10:3", "D10:4"], conversation.Turns.Select(t => t.Id));
        var photo = conversation.Turns.Single(t => t.Id == "D10:2");
        Assert.Equal("Max loves the garden, he digs holes in the tulip bed every morning. [shares a photo: a dog in a garden]", photo.Content);
        Assert.Equal(("user", "Ann"), (photo.Role, photo.Name));
        Assert.Equal(("assistant", "Bob"), (conversation.Turns.First(t => t.Id == "D10:1").Role, conversation.Turns.First(t => t.Id == "D10:1").Name));
        Assert.All(conversation.Sessions[0].Turns, t => Assert.Equal(new DateTimeOffset(2023, 5, 8, 13, 56, 0, TimeSpan.Zero), t.OccurredAt));
        Assert.All(conversation.Sessions[1].Turns, t => Assert.Equal(new DateTimeOffset(2023, 9, 13, 0, 9, 0, TimeSpan.Zero), t.OccurredAt));
    }

    [Fact]
    public void Given_questions_of_all_categories_When_loaded_Then_categories_1_to_4_with_evidence_remain_and_joined_ids_are_split()
    {
        using var data = new SyntheticLocomo();

        var conversation = LocomoConversation.Load(data.Path);

        Assert.Equal([0, 1, 2, 3], conversation.Questions.Select(q => q.Index));
        Assert.Equal(["D2:2", "D2:4"], conversation.Questions[1].Evidence);
        Assert.Equal([4, 1, 2, 3], conversation.Questions.Select(q => q.Category));
        Assert.Equal(1, conversation.SkippedQuestions);
    }

    [Theory]
    [InlineData("Caroline", "Caroline")]
    [InlineData("Mary Ann", "Mary_Ann")]
    [InlineData("José", "Jos_")]
    public void Given_a_speaker_When_named_Then_only_characters_the_service_accepts_remain(string speaker, string expected)
    {
        Assert.Equal(expected, LocomoConversation.ParticipantName(speaker));
    }
}
