using System.ClientModel;
using ConversationService.Summaries;
using ConversationService.Tests.Fakes;
using ConversationService.Usage;
using OpenAI;
using OpenAI.Chat;

namespace ConversationService.Tests.Summaries;

public sealed class LlmResilienceTests
{
    [Fact]
    public async Task Given_a_provider_that_never_answers_once_When_called_through_the_pipeline_Then_the_attempt_times_out_in_the_pipeline_and_the_retry_succeeds()
    {
        await using var llm = await FakeOpenAiServer.StartAsync();
        var options = new LlmOptions
        {
            Endpoint = llm.Endpoint,
            ApiKey = "test-llm-key",
            MaxRetries = 1,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
            // Long enough for an answer on a machine busy with the rest of the suite.
            RequestTimeout = TimeSpan.FromSeconds(5),
        };
        var chat = new OpenAIClient(new ApiKeyCredential(options.ApiKey), LlmResilience.ClientOptions(options))
            .GetChatClient("gpt-4.1-nano");
        var pipeline = LlmResilience.Build(options, TimeProvider.System);
        ChatMessage[] messages = [new UserChatMessage("Alice: hello")];
        // A first call outside the pipeline, so that no attempt below times out on the client's cold start.
        llm.Enqueue(new FakeReply.Answer("Warm.", PromptTokens: 10, CompletionTokens: 2));
        await chat.CompleteChatAsync(messages);
        llm.Reset();
        llm.Enqueue(new FakeReply.Never(), new FakeReply.Answer("Hello.", PromptTokens: 10, CompletionTokens: 2));

        // Were the SDK's own network timeout to fire first, its cancellation would be neither retried nor counted.
        var completion = await pipeline.ExecuteAsync(async ct => (await chat.CompleteChatAsync(messages, cancellationToken: ct)).Value);

        Assert.Equal("Hello.", Assert.Single(completion.Content).Text);
        Assert.Equal(2, llm.ChatRequests.Count);
        Assert.True(LlmResilience.ClientOptions(options).NetworkTimeout > options.RequestTimeout);
    }
}
