using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ConversationService.Conversations;
using ConversationService.Tests.Infrastructure;
using Marten;
using Npgsql;

namespace ConversationService.Tests.Storage;

/// <summary>What the storage tests share: conversations made through the API, turns made by hand, and row locks.</summary>
public static class StorageProbe
{
    public const string Tenant = "tenant-a";

    /// <summary>A conversation created through the API (its stream at version 1: ConversationStarted).</summary>
    public static async Task<string> NewConversationAsync(ApiClient api)
    {
        var id = ApiClient.NewId();
        (await api.PutConversationAsync(id, new { systemPrompt = "Be brief." })).Expect(HttpStatusCode.Created);
        return id;
    }

    /// <summary>A turn as the append path decides one: the event a stream gets at <paramref name="index"/>.</summary>
    public static TurnAppended Turn(int index, string content, string? turnId = null, JsonElement? metadata = null) =>
        new(turnId ?? $"t-{index}", index, "user", content, null, DateTimeOffset.UtcNow, 5, "o200k_base", metadata);

    /// <summary>
    /// Locks the stream's row in Marten's mt_streams in a transaction of its own: an append to that stream then waits
    /// in its commit (Marten's append function updates the row) until the returned transaction ends.
    /// </summary>
    public static async Task<(NpgsqlConnection Connection, NpgsqlTransaction Transaction)> LockStreamAsync(
        string connectionString, string streamKey, string tenant = Tenant)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand(
            "SELECT version FROM conversations.mt_streams WHERE tenant_id = $1 AND id = $2 FOR UPDATE", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        command.Parameters.Add(new NpgsqlParameter { Value = streamKey });
        Assert.NotNull(await command.ExecuteScalarAsync());
        return (connection, transaction);
    }

    /// <summary>
    /// Locks the conversation's document row in a transaction of its own: a write of the conversation then waits in its
    /// commit once its events are in (the inline projection updates or deletes the document after the append), holding
    /// their sequence numbers, until the returned transaction ends.
    /// </summary>
    public static async Task<(NpgsqlConnection Connection, NpgsqlTransaction Transaction)> LockDocumentAsync(
        string connectionString, string conversationId, string tenant = Tenant)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand(
            "SELECT 1 FROM conversations.mt_doc_conversationview WHERE tenant_id = $1 AND id = $2 FOR UPDATE", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        command.Parameters.Add(new NpgsqlParameter { Value = conversationId });
        Assert.NotNull(await command.ExecuteScalarAsync());
        return (connection, transaction);
    }

    /// <summary>Until some backend of this database waits for a row lock: a commit is stuck behind a held row.</summary>
    public static async Task WaitForLockWaitAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await using var command = new NpgsqlCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", connection);
            if ((long)(await command.ExecuteScalarAsync())! > 0)
            {
                return;
            }
            await Task.Delay(25);
        }
        throw new TimeoutException("No commit ever waited for the held stream row.");
    }

    /// <summary>The stream's events in order, read through Marten.</summary>
    public static async Task<IReadOnlyList<JasperFx.Events.IEvent>> StreamAsync(IDocumentStore store, string streamKey, string tenant = Tenant)
    {
        await using var session = store.QuerySession(tenant);
        return await session.Events.FetchStreamAsync(streamKey);
    }

    /// <summary>The conversation's document and turn documents, read through Marten.</summary>
    public static async Task<(ConversationView? View, IReadOnlyList<TurnView> Turns)> DocumentsAsync(
        IDocumentStore store, string conversationId, string tenant = Tenant)
    {
        await using var session = store.QuerySession(tenant);
        var view = await session.LoadAsync<ConversationView>(conversationId);
        var turns = await session.Query<TurnView>().Where(t => t.ConversationId == conversationId).OrderBy(t => t.Index).ToListAsync();
        return (view, turns);
    }

    /// <summary>Distinct writing transactions (xmin) of the given streams' events at a version: 1 when one commit stored them.</summary>
    public static async Task<long> TransactionsAsync(string connectionString, string[] streamKeys, long version)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(DISTINCT xmin::text) FROM conversations.mt_events WHERE stream_id = ANY($1) AND version = $2", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = streamKeys });
        command.Parameters.Add(new NpgsqlParameter { Value = version });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
