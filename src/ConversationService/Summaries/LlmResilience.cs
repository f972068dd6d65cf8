using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using ConversationService.Usage;
using Microsoft.Extensions.AI;
using OpenAI;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace ConversationService.Summaries;

/// <summary>Every attempt at the provider failed (after retries and escalation); the message goes to the error queue.</summary>
public sealed class LlmUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The OpenAI client for <c>Llm:Endpoint</c>, and the resilience step of the Microsoft.Extensions.AI pipelines built on
/// it (summaries' <see cref="IChatClient"/>, the provider's embedding generator): retries (exponential with jitter, or
/// the provider's Retry-After when it sends one) around a circuit breaker around a per-attempt timeout. Each pipeline
/// has a breaker of its own that sees every call it makes: an embedding outage does not stop summaries, nor the other
/// way round.
/// </summary>
public static class LlmResilience
{
    /// <summary>The <see cref="System.Diagnostics.ActivitySource"/> and meter of the LLM pipelines' OpenTelemetry step.</summary>
    public const string TelemetrySource = "ConversationService.Llm";

    /// <summary>The OpenAI SDK's client for <c>Llm:Endpoint</c>, with <see cref="ClientOptions"/>.</summary>
    public static OpenAIClient Client(LlmOptions options) => new(
        new ApiKeyCredential(options.ApiKey ?? throw new InvalidOperationException("Llm:ApiKey is not set.")),
        ClientOptions(options));

    /// <summary>
    /// Every call below this step runs in a pipeline of its own (<see cref="Build"/>). A streaming call is answered
    /// from the resilient non-streaming one (the builder's default when no streaming step is given).
    /// </summary>
    public static ChatClientBuilder UseResilience(this ChatClientBuilder builder, LlmOptions options, TimeProvider time)
    {
        var pipeline = Build(options, time);
        return builder.Use(
            (messages, settings, inner, ct) =>
                pipeline.ExecuteAsync(async token => await inner.GetResponseAsync(messages, settings, token), ct).AsTask(),
            getStreamingResponseFunc: null);
    }

    /// <summary>Every call below this step runs in a pipeline of its own (<see cref="Build"/>).</summary>
    public static EmbeddingGeneratorBuilder<string, Embedding<float>> UseResilience(
        this EmbeddingGeneratorBuilder<string, Embedding<float>> builder, LlmOptions options, TimeProvider time)
    {
        var pipeline = Build(options, time);
        return builder.Use((values, settings, inner, ct) =>
            pipeline.ExecuteAsync(async token => await inner.GenerateAsync(values, settings, token), ct).AsTask());
    }

    public static ResiliencePipeline Build(LlmOptions options, TimeProvider time)
    {
        var transient = new PredicateBuilder()
            .Handle<ClientResultException>(e => IsTransient(e, options.MaxRetryAfter))
            .Handle<HttpRequestException>()
            .Handle<TimeoutRejectedException>();
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = transient,
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Exception)),
            });
        }
        return builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                ShouldHandle = transient,
                FailureRatio = 0.5,
                MinimumThroughput = 4,
                SamplingDuration = TimeSpan.FromSeconds(30),
                BreakDuration = options.BreakDuration,
            })
            .AddTimeout(options.RequestTimeout)
            .Build();
    }

    /// <summary>
    /// Options for an OpenAI client whose calls run inside <see cref="Build"/>'s pipeline. The SDK does not retry:
    /// the pipeline does, honours Retry-After and feeds the breaker. The SDK's network timeout is only a backstop,
    /// twice Llm:RequestTimeout. Were it equal, it would race the pipeline's per-attempt timeout, and when it won the
    /// attempt would end in a cancellation that is neither retried nor counted by the breaker.
    /// </summary>
    public static OpenAIClientOptions ClientOptions(LlmOptions options) => new()
    {
        Endpoint = new Uri(options.Endpoint),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        NetworkTimeout = options.RequestTimeout * 2,
    };

    /// <summary>429, 408 and 5xx are worth another try, unless the provider asks to wait longer than we will.</summary>
    public static bool IsTransient(ClientResultException e, TimeSpan maxRetryAfter) =>
        (e.Status is 408 or 429 or >= 500) && !(RetryAfter(e) > maxRetryAfter);

    /// <summary>The Retry-After header as a delay (seconds or an HTTP date), or null.</summary>
    public static TimeSpan? RetryAfter(Exception? exception)
    {
        if (exception is not ClientResultException e
            || e.GetRawResponse()?.Headers.TryGetValue("Retry-After", out var value) != true
            || string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
        {
            return TimeSpan.FromSeconds(seconds);
        }
        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? TimeSpan.FromTicks(Math.Max(0, (at - DateTimeOffset.UtcNow).Ticks))
            : null;
    }
}
