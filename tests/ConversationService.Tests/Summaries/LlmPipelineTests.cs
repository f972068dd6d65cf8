using System.ClientModel;
using System.Diagnostics;
using ConversationService.Embeddings;
using ConversationService.Summaries;
using ConversationService.Tests.Fakes;
using ConversationService.Tests.Infrastructure;
using ConversationService.Usage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;

namespace ConversationService.Tests.Summaries;

/// <summary>
/// The chat client and the provider's embedding generator as the service registers them (Microsoft.Extensions.AI over
/// the OpenAI SDK, with logging, resilience and OpenTelemetry), against the fake OpenAI-compatible server on loopback.
/// </summary>
public sealed class LlmPipelineTests : IAsyncLifetime
{
    private FakeOpenAiServer _llm = null!;

    public async Task InitializeAsync() => _llm = await FakeOpenAiServer.StartAsync();

    public async Task DisposeAsync() => await _llm.DisposeAsync();

    [Fact]
    public async Task Given_a_provider_that_never_answers_once_When_called_through_the_chat_client_Then_the_attempt_times_out_in_the_pipeline_and_the_retry_succeeds()
    {
        // Long enough for an answer on a machine busy with the rest of the suite.
        await using var host = Host(new() { ["Llm:MaxRetries"] = "1", ["Llm:RequestTimeout"] = "00:00:05" });
        var chat = host.Services.GetRequiredService<IChatClient>();
        // A first call, so that no attempt below times out on the client's cold start.
        _llm.Enqueue(new FakeReply.Answer("Warm.", PromptTokens: 10, CompletionTokens: 2));
        await chat.GetResponseAsync("Alice: hello");
        _llm.Reset();
        _llm.Enqueue(new FakeReply.Never(), new FakeReply.Answer("Hello.", PromptTokens: 10, CompletionTokens: 2));

        // Were the SDK's own network timeout to fire first, its cancellation would be neither retried nor counted.
        var response = await chat.GetResponseAsync("Alice: hello");

        Assert.Equal("Hello.", response.Text);
        Assert.Equal(2, _llm.ChatRequests.Count);
        var options = host.Services.GetRequiredService<IOptions<LlmOptions>>().Value;
        Assert.True(LlmResilience.ClientOptions(options).NetworkTimeout > options.RequestTimeout);
    }

    [Fact]
    public async Task Given_an_answer_with_usage_When_called_through_the_chat_client_Then_the_response_carries_input_cached_and_output_tokens_and_the_tier()
    {
        await using var host = Host();
        _llm.Enqueue(new FakeReply.Answer("Done.", PromptTokens: 1_000, CachedTokens: 200, CompletionTokens: 50));

        var response = await host.Services.GetRequiredService<IChatClient>().GetResponseAsync(
            "Alice: hello", new ChatOptions { ModelId = "gpt-4o-mini", Temperature = 0, MaxOutputTokens = 64 });

        Assert.Equal((1_000L, 200L, 50L), (response.Usage!.InputTokenCount, response.Usage.CachedInputTokenCount, response.Usage.OutputTokenCount));
        var request = Assert.Single(_llm.ChatRequests);
        Assert.Equal("gpt-4o-mini", request.Model);
        Assert.Equal(0, request.Body["temperature"]!.GetValue<double>());
        Assert.Equal(64, (request.Body["max_completion_tokens"] ?? request.Body["max_tokens"])!.GetValue<int>());
    }

    [Fact]
    public async Task Given_a_provider_that_keeps_failing_When_called_Then_the_chat_breaker_opens_without_calling_it_embeddings_keep_theirs_and_it_closes_after_the_break()
    {
        await using var host = Host(new() { ["Llm:MaxRetries"] = "0" });
        var chat = host.Services.GetRequiredService<IChatClient>();
        var embeddings = host.Services.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        _llm.Enqueue(Enumerable.Repeat<FakeReply>(new FakeReply.Status(500), 4).ToArray());

        for (var i = 0; i < 4; i++)
        {
            var failed = await Assert.ThrowsAsync<ClientResultException>(() => chat.GetResponseAsync("Alice: hello"));
            Assert.Equal(500, failed.Status);
        }
        await Assert.ThrowsAsync<BrokenCircuitException>(() => chat.GetResponseAsync("Alice: hello"));

        Assert.Equal(4, _llm.ChatRequests.Count);
        // A breaker of its own: the embedding generator still calls the provider.
        Assert.Single(await embeddings.GenerateAsync(["still embedded"]));
        Assert.Single(_llm.EmbeddingRequests);
        await Task.Delay(TimeSpan.FromMilliseconds(700)); // Llm:BreakDuration is 0.5 s
        _llm.Enqueue(new FakeReply.Answer("Back."));
        Assert.Equal("Back.", (await chat.GetResponseAsync("Alice: hello")).Text);
        Assert.Equal(5, _llm.ChatRequests.Count);
    }

    [Fact]
    public async Task Given_a_retry_after_longer_than_the_limit_When_called_Then_it_fails_at_once_without_waiting_or_retrying()
    {
        await using var host = Host(new() { ["Llm:MaxRetryAfter"] = "00:00:10" });
        _llm.Enqueue(new FakeReply.Status(429, RetryAfter: "120"));
        var clock = Stopwatch.StartNew();

        var failed = await Assert.ThrowsAsync<ClientResultException>(
            () => host.Services.GetRequiredService<IChatClient>().GetResponseAsync("Alice: hello"));

        Assert.Equal(429, failed.Status);
        Assert.Single(_llm.ChatRequests);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"{clock.Elapsed}");
    }

    [Fact]
    public async Task Given_logging_at_trace_When_chat_and_embedding_calls_succeed_and_fail_Then_content_is_logged_only_at_trace_and_spans_carry_usage_but_no_content()
    {
        var sink = new LogSink();
        var model = $"probe-{Guid.NewGuid():N}";
        var secret = $"Alice's locker code is {Guid.NewGuid():N}";
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == LlmResilience.TelemetrySource,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (spans)
                {
                    spans.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using var host = Host(new() { ["Llm:MaxRetries"] = "0", ["Embeddings:Model"] = model }, sink);
        var chat = host.Services.GetRequiredService<IChatClient>();
        var embeddings = host.Services.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        _llm.Enqueue(new FakeReply.Answer(secret, PromptTokens: 40, CompletionTokens: 9), new FakeReply.Status(500),
            new FakeReply.Answer(PromptTokens: 12), new FakeReply.Status(500));

        await chat.GetResponseAsync(secret, new ChatOptions { ModelId = model });
        await Assert.ThrowsAsync<ClientResultException>(() => chat.GetResponseAsync(secret, new ChatOptions { ModelId = model }));
        await embeddings.GenerateAsync([secret]);
        await Assert.ThrowsAsync<ClientResultException>(() => embeddings.GenerateAsync([secret]));

        // The sink sees the content at Trace (so the assertion below could fail), and only there.
        Assert.Contains(sink.Entries, e => e.Level == LogLevel.Trace && e.Category.StartsWith("Microsoft.Extensions.AI", StringComparison.Ordinal)
            && e.Text.Contains(secret, StringComparison.Ordinal));
        Assert.Contains(sink.Entries, e => e.Level >= LogLevel.Warning && e.Category.StartsWith("Microsoft.Extensions.AI", StringComparison.Ordinal));
        Assert.DoesNotContain(sink.Entries, e => e.Level > LogLevel.Debug && e.Text.Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(sink.Entries, e => e.Text.Contains("test-llm-key", StringComparison.Ordinal));

        List<Activity> ours;
        lock (spans)
        {
            ours = [.. spans.Where(s => Equals(s.GetTagItem("gen_ai.request.model"), model))];
        }
        Assert.Equal(4, ours.Count);
        Assert.Contains(ours, s => Equals(s.GetTagItem("gen_ai.usage.input_tokens"), 40) && Equals(s.GetTagItem("gen_ai.usage.output_tokens"), 9));
        Assert.Contains(ours, s => Equals(s.GetTagItem("gen_ai.usage.input_tokens"), 12));
        Assert.Equal(2, ours.Count(s => s.Status == ActivityStatusCode.Error));
        Assert.DoesNotContain(ours, s => s.TagObjects.Any(t => t.Value?.ToString()?.Contains(secret, StringComparison.Ordinal) == true)
            || s.Events.Any(e => e.Tags.Any(t => t.Value?.ToString()?.Contains(secret, StringComparison.Ordinal) == true)));
    }

    /// <summary>The summaries' and embeddings' registrations alone, configured for the fake provider; nothing else starts.</summary>
    private WebApplication Host(Dictionary<string, string?>? settings = null, LogSink? sink = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Llm:Endpoint"] = _llm.Endpoint,
            ["Llm:ApiKey"] = "test-llm-key",
            ["Llm:MaxRetries"] = "2",
            ["Llm:RetryBaseDelay"] = "00:00:00.010",
            ["Llm:RequestTimeout"] = "00:00:05",
            ["Llm:BreakDuration"] = "00:00:00.500",
            ["Embeddings:Provider"] = "openai",
        });
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.Logging.ClearProviders();
        if (sink is not null)
        {
            builder.Logging.AddProvider(sink);
            builder.Configuration["Logging:LogLevel:Default"] = "Trace";
        }
        builder.Services.AddSingleton(TimeProvider.System);
        builder.AddUsage().AddSummaries().AddEmbeddings();
        return builder.Build();
    }
}
