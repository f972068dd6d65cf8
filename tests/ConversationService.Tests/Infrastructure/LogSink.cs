using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ConversationService.Tests.Infrastructure;

/// <summary>One rendered log line (with its exception).</summary>
public sealed record LogEntry(LogLevel Level, string Category, string Text);

/// <summary>Collects every rendered log line (with exceptions) so tests can assert what is never logged.</summary>
public sealed class LogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyCollection<LogEntry> Entries => _entries;

    /// <summary>Each entry as "category: message exception".</summary>
    public IReadOnlyCollection<string> Messages => [.. _entries.Select(e => $"{e.Category}: {e.Text}")];

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
            sink._entries.Enqueue(new LogEntry(logLevel, category, $"{formatter(state, exception)} {exception}"));
    }
}
