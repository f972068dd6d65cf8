// Yardsticks for the load tests, on the service's route shapes, with no authentication or logging;
// scripts/load/run.sh starts it.
//  - GET context: a fixed payload (normally a captured context response, so the bytes on the wire are identical).
//  - POST turns (only when POSTGRES is set): the same request body, whose content is stored as one durable row of
//    pgbench's table, either one INSERT transaction per request (/single/...) or the requests that arrive together in
//    one INSERT (/grouped/..., one writer, at most 64 rows). They bracket what the HTTP front of a write costs.
using System.Text.Json;
using System.Threading.Channels;
using Npgsql;

var payloadFile = Environment.GetEnvironmentVariable("PAYLOAD_FILE");
var payload = payloadFile is { Length: > 0 }
    ? File.ReadAllBytes(payloadFile)
    : System.Text.Encoding.UTF8.GetBytes("{\"payload\":\"" + new string('x', 8192) + "\"}");

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();

app.MapGet("/conversations/{id}/context", () => Results.Bytes(payload, "application/json"));
app.MapGet("/health/ready", () => Results.Ok());

if (Environment.GetEnvironmentVariable("POSTGRES") is { Length: > 0 } postgres)
{
    var dataSource = NpgsqlDataSource.Create(postgres);
    var queue = Channel.CreateUnbounded<(string Conversation, string Content, TaskCompletionSource<long> Stored)>(
        new UnboundedChannelOptions { SingleReader = true });
    _ = Task.Run(() => WriteGroupsAsync(dataSource, queue.Reader));

    app.MapPost("/single/conversations/{id}/turns", async (string id, HttpRequest request) =>
    {
        await using var command = dataSource.CreateCommand(
            "INSERT INTO turns (conversation, content) VALUES ($1, $2) RETURNING id");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = await ContentAsync(request) });
        return Stored(id, (long)(await command.ExecuteScalarAsync())!);
    });

    app.MapPost("/grouped/conversations/{id}/turns", async (string id, HttpRequest request) =>
    {
        var stored = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        await queue.Writer.WriteAsync((id, await ContentAsync(request), stored));
        return Stored(id, await stored.Task);
    });
}

app.Run();

static async Task<string> ContentAsync(HttpRequest request)
{
    using var body = await JsonDocument.ParseAsync(request.Body);
    return body.RootElement.GetProperty("content").GetString() ?? "";
}

static IResult Stored(string conversation, long id) => Results.Json(new { conversationId = conversation, id }, statusCode: 201);

static async Task WriteGroupsAsync(
    NpgsqlDataSource dataSource, ChannelReader<(string Conversation, string Content, TaskCompletionSource<long> Stored)> reader)
{
    var group = new List<(string Conversation, string Content, TaskCompletionSource<long> Stored)>();
    while (await reader.WaitToReadAsync())
    {
        group.Clear();
        while (group.Count < 64 && reader.TryRead(out var append))
        {
            group.Add(append);
        }
        try
        {
            await using var command = dataSource.CreateCommand(
                "INSERT INTO turns (conversation, content) SELECT c, x FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(c, x, n) "
                + "ORDER BY n RETURNING id");
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. group.Select(g => g.Conversation)] });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. group.Select(g => g.Content)] });
            await using var rows = await command.ExecuteReaderAsync();
            for (var i = 0; await rows.ReadAsync(); i++)
            {
                group[i].Stored.TrySetResult(rows.GetInt64(0));
            }
        }
        catch (Exception e)
        {
            group.ForEach(g => g.Stored.TrySetException(e));
        }
    }
}
