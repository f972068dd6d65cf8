namespace ConversationService.Client;

/// <summary>Where the service is, the API key (one tenant), and how transient failures are retried.</summary>
public sealed class ConversationServiceClientOptions
{
    public Uri? BaseAddress { get; set; }

    public string ApiKey { get; set; } = "";

    /// <summary>Retries of a safe request after a transient failure (connection error, timeout, 408, 429, 5xx).</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first retry's delay, doubled for each next one (with jitter); a Retry-After answer is honoured.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long one attempt may take.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    internal bool IsValid => BaseAddress is { IsAbsoluteUri: true } && ApiKey.Length > 0 && MaxRetries is >= 0 and <= 10
        && RetryDelay >= TimeSpan.Zero && AttemptTimeout > TimeSpan.Zero;
}
