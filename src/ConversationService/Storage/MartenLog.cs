using JasperFx.Events;
using Marten;
using Marten.Services;
using Npgsql;

namespace ConversationService.Storage;

/// <summary>
/// Marten's command log, quieter where the service expects failures and without command text: optimistic writes
/// that find their stream moved, and turn-id replays that meet the unique index, are how concurrency and
/// idempotency work here (Debug); any other failure is an Error with the exception but not the SQL, whose
/// parameters can hold conversation content. The exception still reaches the caller, which answers or retries.
/// </summary>
public sealed class MartenLog(ILogger<IDocumentStore> logger) : IMartenLogger, IMartenSessionLogger
{
    public IMartenSessionLogger StartSession(IQuerySession session) => this;

    public void SchemaChange(string sql) => logger.LogInformation("Marten changed the database schema.");

    public void LogSuccess(NpgsqlCommand command)
    {
    }

    public void LogSuccess(NpgsqlBatch batch)
    {
    }

    public void LogFailure(NpgsqlCommand command, Exception ex) => Log(ex);

    public void LogFailure(NpgsqlBatch batch, Exception ex) => Log(ex);

    public void LogFailure(Exception ex, string message) => Log(ex);

    public void RecordSavedChanges(IDocumentSession session, IChangeSet commit)
    {
    }

    public void OnBeforeExecute(NpgsqlCommand command)
    {
    }

    public void OnBeforeExecute(NpgsqlBatch batch)
    {
    }

    private void Log(Exception ex)
    {
        if (IsExpected(ex))
        {
            logger.LogDebug(ex, "A write met a concurrent one (it decides again) or a stored turn id (a replay).");
        }
        else
        {
            logger.LogError(ex, "A Marten command failed.");
        }
    }

    public static bool IsExpected(Exception ex)
    {
        for (var current = ex; current is not null; current = current.InnerException)
        {
            if (current is EventStreamUnexpectedMaxEventIdException)
            {
                return true;
            }
        }
        return Conversations.ConversationProjection.IsTurnIdViolation(ex);
    }
}
