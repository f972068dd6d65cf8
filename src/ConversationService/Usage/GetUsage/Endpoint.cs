using ConversationService.Contracts;
using ConversationService.Storage;
using ConversationService.Hosting;
using FastEndpoints;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ConversationService.Usage.GetUsage;

/// <summary>GET /usage: the tenant's LLM calls, tokens and estimated cost, and what context assembly saved.</summary>
public sealed class Endpoint(NpgsqlDataSource dataSource, DatabaseSchema schema, IOptions<LlmOptions> llm, TimeProvider time)
    : Endpoint<Request, Response>
{
    // Whitelisted column expressions: groupBy never reaches SQL as text.
    public static readonly IReadOnlyDictionary<string, string> GroupColumns = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["model"] = "model",
        ["callType"] = "call_type",
        ["conversation"] = "COALESCE(conversation_id, '')",
    };

    public override void Configure()
    {
        Get("/usage");
        Description(b => b.WithName("GetUsage").WithTags("Usage"));
        Summary(s =>
        {
            s.Summary = "LLM calls, tokens and estimated cost in [from, to), grouped; plus context savings.";
            s.Description = "groupBy is model (default), callType or conversation. from/to default to the last 30 days.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var (start, end) = request.Range(time.GetUtcNow());
        var tenant = User.Tenant();
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var groups = await GroupsAsync(connection, schema, GroupColumns[request.GroupBy], tenant, start, end, ct);
        var totals = new Totals(
            groups.Sum(g => g.Calls), groups.Sum(g => g.InputTokens), groups.Sum(g => g.CachedInputTokens),
            groups.Sum(g => g.OutputTokens), groups.Sum(g => g.CostUsd));
        var savings = await SavingsAsync(connection, schema, tenant, start, end, llm.Value.Prices, ct);
        var cache = await CacheAsync(connection, schema, tenant, start, end, llm.Value.Prices, ct);
        await Send.OkAsync(new Response(start, end, request.GroupBy, totals, groups, savings, cache), ct);
    }

    private static async Task<List<Group>> GroupsAsync(
        NpgsqlConnection connection, DatabaseSchema schema, string column, string tenant, DateTimeOffset from,
        DateTimeOffset to, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            SELECT {column}, count(*), sum(input_tokens), sum(cached_tokens), sum(output_tokens), sum(cost_usd)
            FROM {schema.Name}.llm_calls WHERE tenant_id = $1 AND at >= $2 AND at < $3
            GROUP BY 1 ORDER BY 6 DESC, 1
            """, connection);
        UsageTables.AddTenantRange(command, tenant, from, to);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var groups = new List<Group>();
        while (await reader.ReadAsync(ct))
        {
            groups.Add(new Group(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
                reader.GetInt64(4), reader.GetDecimal(5)));
        }
        return groups;
    }

    private static async Task<Savings> SavingsAsync(
        NpgsqlConnection connection, DatabaseSchema schema, string tenant, DateTimeOffset from, DateTimeOffset to,
        IReadOnlyDictionary<string, ModelPrice> prices, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            SELECT model, sum(requests), sum(tokens_served), sum(full_history_tokens)
            FROM {schema.Name}.context_usage WHERE tenant_id = $1 AND at >= $2 AND at < $3
            GROUP BY model
            """, connection);
        UsageTables.AddTenantRange(command, tenant, from, to);
        await using var reader = await command.ExecuteReaderAsync(ct);
        long requests = 0, served = 0, full = 0;
        decimal saved = 0;
        while (await reader.ReadAsync(ct))
        {
            var (model, count, modelServed, modelFull) = (reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
            requests += count;
            served += modelServed;
            full += modelFull;
            saved += Pricing.Saved(prices, model, modelFull, modelServed);
        }
        return new Savings(requests, served, full, full - served, saved);
    }

    private static async Task<CacheUsage> CacheAsync(
        NpgsqlConnection connection, DatabaseSchema schema, string tenant, DateTimeOffset from, DateTimeOffset to,
        IReadOnlyDictionary<string, ModelPrice> prices, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            SELECT model, count(*), count(*) FILTER (WHERE hit), sum(input_tokens), sum(output_tokens)
            FROM {schema.Name}.cache_usage WHERE tenant_id = $1 AND at >= $2 AND at < $3
            GROUP BY model
            """, connection);
        UsageTables.AddTenantRange(command, tenant, from, to);
        await using var reader = await command.ExecuteReaderAsync(ct);
        long lookups = 0, hits = 0, input = 0, output = 0;
        decimal saved = 0;
        while (await reader.ReadAsync(ct))
        {
            var (modelInput, modelOutput) = (reader.GetInt64(3), reader.GetInt64(4));
            lookups += reader.GetInt64(1);
            hits += reader.GetInt64(2);
            input += modelInput;
            output += modelOutput;
            saved += Pricing.Cost(prices, reader.GetString(0),
                new LlmUsage((int)Math.Min(int.MaxValue, modelInput), 0, (int)Math.Min(int.MaxValue, modelOutput)));
        }
        return new CacheUsage(lookups, hits, lookups - hits, input, output, saved);
    }
}
