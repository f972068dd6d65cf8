using JasperFx.Core;
using Marten;
using Marten.Services;
using Npgsql;

namespace ConversationService.Storage;

/// <summary>
/// Marten's logger for the service. Marten's own writes a failed command at Error with the value of every parameter:
/// turn content, prompts and metadata would reach the logs, which carry content at Debug only. Here a failure's
/// exception and parameters are Debug; above it only the SQL and the exception types with their SQLSTATE. A refusal the service expects and answers
/// (a unique index saying a turn id or document is stored already, a stream no longer at the version an append was
/// decided at) is Debug alone: its caller deals with it, and at Error it would read as an outage.
/// </summary>
internal sealed class StoreLogger(ILogger logger) : IMartenLogger, IMartenSessionLogger
{
    private readonly ILogger _logger = logger;

    public IMartenSessionLogger StartSession(IQuerySession session) => this;

    public void SchemaChange(string sql)
    {
        if (_logger.IsEnabled(LogLevel.Information))
        {
            _logger.LogInformation("Executed schema update SQL:\n{Sql}", sql);
        }
    }

    public void LogSuccess(NpgsqlCommand command)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            _logger.LogDebug("Marten executed SQL: {Sql}\n{Parameters}", command.CommandText, new Values(command.Parameters));
        }
    }

    public void LogSuccess(NpgsqlBatch batch)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            foreach (var command in batch.BatchCommands)
            {
                _logger.LogDebug("Marten executed SQL: {Sql}\n{Parameters}", command.CommandText, new Values(command.Parameters));
            }
        }
    }

    public void LogFailure(NpgsqlCommand command, Exception ex) => Failed(ex, [(command.CommandText, command.Parameters)]);

    public void LogFailure(NpgsqlBatch batch, Exception ex) =>
        Failed(ex, [.. batch.BatchCommands.Select<NpgsqlBatchCommand, (string, System.Data.Common.DbParameterCollection?)>(
            c => (c.CommandText, c.Parameters))]);

    public void LogFailure(Exception ex, string message) => Failed(ex, [(message, null)]);

    public void RecordSavedChanges(IDocumentSession session, IChangeSet commit)
    {
    }

    public void OnBeforeExecute(NpgsqlCommand command)
    {
    }

    public void OnBeforeExecute(NpgsqlBatch batch)
    {
    }

    private void Failed(Exception ex, IReadOnlyList<(string Sql, System.Data.Common.DbParameterCollection? Parameters)> commands)
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            foreach (var (sql, parameters) in commands)
            {
                _logger.LogDebug(ex, "Marten command failed: {Sql}\n{Parameters}", sql, new Values(parameters));
            }
        }
        if (!IsExpected(ex) && _logger.IsEnabled(LogLevel.Warning))
        {
            // The exception types and SQLSTATE, not the messages: PostgreSQL's can quote the offending value (22P02
            // "invalid input syntax for type integer: ..."), and Npgsql leaves out only the detail.
            _logger.LogWarning("Marten command failed with {Error} (messages and values at Debug): {Sql}",
                ParkedEvents.Describe(ex), string.Join(Environment.NewLine, commands.Select(c => c.Sql)));
        }
    }

    /// <summary>A unique violation (a concurrent or repeated write of the same item) or a stale stream version.</summary>
    internal static bool IsExpected(Exception ex)
    {
        for (var current = ex; current is not null; current = current.InnerException)
        {
            if (current is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation }
                or JasperFx.Events.EventStreamUnexpectedMaxEventIdException or JasperFx.ConcurrencyException)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Parameter values, formatted only when a Debug line is written.</summary>
    private sealed class Values(System.Data.Common.DbParameterCollection? parameters)
    {
        public override string ToString() => parameters is null
            ? ""
            : parameters.OfType<System.Data.Common.DbParameter>().Select(p => $"  {p.ParameterName}: {p.Value}")
                .Join(Environment.NewLine);
    }
}
