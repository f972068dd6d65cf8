using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ConversationService.Tests.Infrastructure;

/// <summary>Collects every rendered log line (with exceptions) so tests can assert what is never logged.</summary>
public sealed class LogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _messages = new();

    public IReadOnlyCollection<string> Messages => _messages;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) =>
            sink._messages.Enqueue($"{category}: {formatter(state, exception)} {exception}");
    }
}
