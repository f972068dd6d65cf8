using System.Net.Sockets;
using System.Text.RegularExpressions;
using Npgsql;

namespace ConversationService.EventStore;

/// <summary>
/// What the daemon makes of a failed <see cref="IAsyncProjection.HandleAsync"/>: whether the infrastructure failed
/// (retried until it passes, never parked) or possibly the events (isolated, and the one at fault parked), and how
/// an error is recorded and logged without the content it may quote.
/// </summary>
public static partial class EventFailures
{
    private const int MaxDescriptionLength = 1_000;

    /// <summary>
    /// True when any exception in the chain is a failure of the infrastructure: a lost or refused connection
    /// (<see cref="NpgsqlException"/> other than a server error, <see cref="IOException"/>, <see cref="SocketException"/>,
    /// <see cref="HttpRequestException"/>), a timeout or cancellation, or a PostgreSQL error outside the classes that
    /// are about the data written (22 data exception, 23 integrity constraint, 54 program limit such as a row too
    /// large). Class 42 (an undefined table or column) is a fault of the code or the schema and would fail every event
    /// alike; 08, 53, 57 and 40 are the server's state. Parking on those would skip events that are fine.
    /// </summary>
    public static bool IsTransient(Exception exception) => Chain(exception).Any(e => e switch
    {
        PostgresException postgres => !IsAboutTheData(postgres.SqlState),
        NpgsqlException or IOException or SocketException or HttpRequestException or TimeoutException or OperationCanceledException => true,
        _ => false,
    });

    /// <summary>The exception, its inner exceptions and those of aggregates, outermost first.</summary>
    public static IEnumerable<Exception> Chain(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var pending = new Stack<Exception>([exception]);
        // Bounded: a chain is a few levels deep, and a cycle must not hang the daemon.
        for (var seen = 0; pending.Count > 0 && seen < 32; seen++)
        {
            var current = pending.Pop();
            yield return current;
            if (current is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.Reverse())
                {
                    pending.Push(inner);
                }
            }
            else if (current.InnerException is { } inner)
            {
                pending.Push(inner);
            }
        }
    }

    private static bool IsAboutTheData(string sqlState) => sqlState.StartsWith("22", StringComparison.Ordinal)
        || sqlState.StartsWith("23", StringComparison.Ordinal) || sqlState.StartsWith("54", StringComparison.Ordinal);

    /// <summary>
    /// Type and message of each exception in the chain, as recorded with a parked event and logged. Messages can quote
    /// what failed: System.Text.Json names the JSON path (metadata keys are content) and PostgreSQL quotes the
    /// offending value, so paths and quoted text are left out. No stack trace: it says nothing about the event.
    /// </summary>
    public static string Describe(Exception exception)
    {
        var parts = Chain(exception).Select(e => $"{e.GetType().FullName}: {Redact(e.Message)}");
        var text = string.Join(" ---> ", parts);
        return text.Length <= MaxDescriptionLength ? text : text[..(MaxDescriptionLength - 1)] + "…";
    }

    internal static string Redact(string message)
    {
        var text = message;
        var path = text.IndexOf(" Path: ", StringComparison.Ordinal);
        if (path >= 0)
        {
            text = text[..path];
        }
        text = Quoted().Replace(text, match => match.Value[0] + "…" + match.Value[^1]);
        return Whitespace().Replace(text, " ").Trim();
    }

    [GeneratedRegex("\"[^\"]*\"|'[^']*'|“[^”]*”|‘[^’]*’")]
    private static partial Regex Quoted();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
