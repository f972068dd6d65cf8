// The yardstick for the context load test: a bare Kestrel endpoint that serves a fixed payload
// (normally a captured context response, so the bytes on the wire are identical) on the same route
// shape as the service, with no authentication, database or logging. scripts/load/run.sh starts it.
var payloadFile = Environment.GetEnvironmentVariable("PAYLOAD_FILE");
var payload = payloadFile is { Length: > 0 }
    ? File.ReadAllBytes(payloadFile)
    : System.Text.Encoding.UTF8.GetBytes("{\"payload\":\"" + new string('x', 8192) + "\"}");

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();

app.MapGet("/conversations/{id}/context", () => Results.Bytes(payload, "application/json"));
app.MapGet("/health/ready", () => Results.Ok());

app.Run();
