// The client of scripts/load/overload.sh: CONCURRENCY chat sessions at once (default 2,000), each posting its turns one
// after another for DURATION_SECONDS, every turn with a unique id, as a careful client would: a 503 or a lost answer is
// retried with the same turn id (after Retry-After when HONOR_RETRY_AFTER=1, at once when 0) until it gets an answer
// or the time is up. wrk cannot tell which request got which answer; this can, so the script can check each turn in
// PostgreSQL. Writes one line per turn (id, final status, attempts, lost answers) to OUT, prints RESULT and STATUS
// lines, and exits 1 on any 5xx other than 503 or on a 503 that is not a problem with Retry-After.
// Env: BASE_URL, API_KEY, RUN_ID, OUT, CONCURRENCY (2000), DURATION_SECONDS (20), HONOR_RETRY_AFTER (1),
// TIMEOUT_SECONDS (30).
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

var baseUrl = new Uri(Setting("BASE_URL", null));
var apiKey = Setting("API_KEY", null);
var run = Setting("RUN_ID", null);
var outFile = Setting("OUT", null);
var concurrency = int.Parse(Setting("CONCURRENCY", "2000"), CultureInfo.InvariantCulture);
var duration = TimeSpan.FromSeconds(double.Parse(Setting("DURATION_SECONDS", "20"), CultureInfo.InvariantCulture));
var honorRetryAfter = Setting("HONOR_RETRY_AFTER", "1") != "0";
var timeout = TimeSpan.FromSeconds(double.Parse(Setting("TIMEOUT_SECONDS", "30"), CultureInfo.InvariantCulture));

using var http = new HttpClient(new SocketsHttpHandler
{
    // One connection per session, as wrk -c does; the default allows as many as are asked for.
    ConnectTimeout = TimeSpan.FromSeconds(10),
    UseCookies = false,
    AllowAutoRedirect = false,
})
{ BaseAddress = baseUrl, Timeout = timeout };
http.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);

var statuses = new ConcurrentDictionary<int, long>();
var latencies = new ConcurrentBag<(int Status, double Ms)>();
var turns = new ConcurrentQueue<string>();
long lostAnswers = 0, badUnavailable = 0;
var clock = Stopwatch.StartNew();

await Task.WhenAll(Enumerable.Range(0, concurrency).Select(session => Task.Run(() => SessionAsync(session))));
var elapsed = clock.Elapsed;

await File.WriteAllLinesAsync(outFile, turns);
var sorted = latencies.Select(l => l.Ms).Order().ToArray();
var created = latencies.Where(l => l.Status == 201).Select(l => l.Ms).Order().ToArray();
var requests = statuses.Values.Sum();
long Count(int status) => statuses.GetValueOrDefault(status);
var otherServerErrors = statuses.Where(s => s.Key >= 500 && s.Key != 503).Sum(s => s.Value);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"RESULT requests={requests} created={Count(201)} unavailable={Count(503)} other={requests - Count(201) - Count(503)} "
    + $"other_5xx={otherServerErrors} lost_answers={lostAnswers} bad_503={badUnavailable} seconds={elapsed.TotalSeconds:F1} "
    + $"rps={requests / elapsed.TotalSeconds:F1} created_per_s={Count(201) / elapsed.TotalSeconds:F1} "
    + $"p50_ms={Percentile(sorted, 50):F1} p99_ms={Percentile(sorted, 99):F1} max_ms={(sorted.Length > 0 ? sorted[^1] : 0):F1} "
    + $"created_p50_ms={Percentile(created, 50):F1} created_p99_ms={Percentile(created, 99):F1}"));
foreach (var (status, count) in statuses.OrderBy(s => s.Key))
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"STATUS {status} {count}"));
}
return otherServerErrors == 0 && badUnavailable == 0 ? 0 : 1;

async Task SessionAsync(int session)
{
    var conversation = $"{run}-c{session}";
    for (var n = 1; clock.Elapsed < duration; n++)
    {
        var turnId = $"{run}-s{session}-n{n}";
        var body = $$"""{"id":"{{turnId}}","role":"{{(n % 2 == 1 ? "user" : "assistant")}}","content":"Turn {{n}} of session {{session}}: a short chat message, as a chat app posts it after each reply."}""";
        var (final, attempts, lost) = (0, 0, 0);
        while (clock.Elapsed < duration || attempts == 0)
        {
            attempts++;
            var started = clock.Elapsed;
            try
            {
                using var content = new StringContent(body, Encoding.UTF8, "application/json");
                using var response = await http.PostAsync(new Uri($"/conversations/{conversation}/turns", UriKind.Relative), content);
                await response.Content.ReadAsByteArrayAsync();
                final = (int)response.StatusCode;
                statuses.AddOrUpdate(final, 1, (_, c) => c + 1);
                latencies.Add((final, (clock.Elapsed - started).TotalMilliseconds));
                if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    break;
                }
                var retryAfter = response.Headers.RetryAfter?.Delta;
                if (retryAfter is not { TotalSeconds: >= 1 } || response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                {
                    Interlocked.Increment(ref badUnavailable);
                }
                if (honorRetryAfter)
                {
                    await Task.Delay(Min(retryAfter ?? TimeSpan.FromSeconds(1), duration - clock.Elapsed));
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                // No answer: whether it was stored is unknown, so the same turn id goes again, as a careful client does.
                final = -1;
                lost++;
                Interlocked.Increment(ref lostAnswers);
                await Task.Delay(Min(TimeSpan.FromSeconds(1), duration - clock.Elapsed));
            }
        }
        turns.Enqueue(string.Create(CultureInfo.InvariantCulture, $"{turnId}\t{final}\t{attempts}\t{lost}"));
        if (final != 201)
        {
            return; // out of time; or an answer other than 201, which the next turn would only repeat
        }
    }
}

static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? (a > TimeSpan.Zero ? a : TimeSpan.Zero) : (b > TimeSpan.Zero ? b : TimeSpan.Zero);

static double Percentile(double[] sorted, double p) =>
    sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];

static string Setting(string name, string? fallback) =>
    Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value
    : fallback ?? throw new InvalidOperationException($"Set {name}.");
