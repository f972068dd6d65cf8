using ConversationService.Hosting;
using ConversationService.Operations;
using ConversationService.Storage;
using ConversationService.Usage;
using FastEndpoints;
using Microsoft.Extensions.Options;
using Npgsql;

namespace ConversationService.Dashboard.GetDashboardData;

/// <summary>GET /dashboard/data: the figures the dashboard page draws, for the caller's tenant.</summary>
public sealed class Endpoint(
    NpgsqlDataSource dataSource, DatabaseSchema schema, IOptions<LlmOptions> llm, LlmCallLog calls,
    OperationsStatus operations, TimeProvider time)
    : Endpoint<Request, Response>
{
    public const int TopConversations = 10;

    public override void Configure()
    {
        Get("/dashboard/data");
        Description(b => b.WithName("GetDashboardData").WithTags("Usage"));
        Summary(s =>
        {
            s.Summary = "Per UTC day in [from, to): context savings and composition, LLM spend against the daily budget; "
                + "the top conversations by tokens served; summary and subscription lag and parked events.";
            s.Description = "from/to default to the last 30 days, at most 92 days apart.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var (start, end) = request.Range(time.GetUtcNow());
        var tenant = User.Tenant();
        var options = llm.Value;
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        var context = await ContextDaysAsync(connection, tenant, start, end, options.Prices, ct);
        var spent = await SpentDaysAsync(connection, tenant, start, end, ct);
        var top = await TopAsync(connection, tenant, start, end, ct);
        var now = time.GetUtcNow();
        var today = await calls.SpentSinceAsync(tenant, new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero), ct);
        var budget = new Budget(options.DailyBudgetUsd, today, StateName(DailyBudget.Decide(today, options.DailyBudgetUsd)));
        var days = DashboardDays.Between(start, end)
            .Select(date => Of(date, context.GetValueOrDefault(date), spent.GetValueOrDefault(date), options.DailyBudgetUsd))
            .ToList();
        await Send.OkAsync(new Response(start, end, budget, days, top, await operations.ForTenantAsync(tenant, ct)), ct);
    }

    private static Day Of(DateOnly date, ContextDay? context, decimal spent, decimal budget) => new(
        date, context?.Requests ?? 0, context?.Served ?? 0, context?.Full ?? 0, context?.Saved ?? 0,
        context?.Sections ?? SectionTokens.None, spent, StateName(DailyBudget.Decide(spent, budget)));

    private static string StateName(BudgetState state) => state.ToString().ToLowerInvariant();

    private sealed record ContextDay(long Requests, long Served, long Full, decimal Saved, SectionTokens Sections);

    private async Task<Dictionary<DateOnly, ContextDay>> ContextDaysAsync(
        NpgsqlConnection connection, string tenant, DateTimeOffset from, DateTimeOffset to,
        IReadOnlyDictionary<string, ModelPrice> prices, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            SELECT (at AT TIME ZONE 'UTC')::date, model, sum(requests), sum(tokens_served), sum(full_history_tokens),
                   sum(system_tokens), sum(summary_tokens), sum(recent_tokens), sum(recalled_tokens),
                   sum(knowledge_tokens), sum(examples_tokens)
            FROM {schema.Name}.context_usage WHERE tenant_id = $1 AND at >= $2 AND at < $3
            GROUP BY 1, 2
            """, connection);
        UsageTables.AddTenantRange(command, tenant, from, to);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var days = new Dictionary<DateOnly, ContextDay>();
        while (await reader.ReadAsync(ct))
        {
            var (date, model, served, full) =
                (reader.GetFieldValue<DateOnly>(0), reader.GetString(1), reader.GetInt64(3), reader.GetInt64(4));
            var sections = new SectionTokens(
                reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10));
            var day = new ContextDay(reader.GetInt64(2), served, full, Pricing.Saved(prices, model, full, served), sections);
            days[date] = days.TryGetValue(date, out var other)
                ? new(other.Requests + day.Requests, other.Served + served, other.Full + full, other.Saved + day.Saved,
                    other.Sections + sections)
                : day;
        }
        return days;
    }

    private async Task<Dictionary<DateOnly, decimal>> SpentDaysAsync(
        NpgsqlConnection connection, string tenant, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            SELECT (at AT TIME ZONE 'UTC')::date, sum(cost_usd)
            FROM {schema.Name}.llm_calls WHERE tenant_id = $1 AND at >= $2 AND at < $3
            GROUP BY 1
            """, connection);
        UsageTables.AddTenantRange(command, tenant, from, to);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var days = new Dictionary<DateOnly, decimal>();
        while (await reader.ReadAsync(ct))
        {
            days[reader.GetFieldValue<DateOnly>(0)] = reader.GetDecimal(1);
        }
        return days;
    }

    private async Task<List<TopConversation>> TopAsync(
        NpgsqlConnection connection, string tenant, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            SELECT conversation_id, sum(requests), sum(tokens_served), sum(full_history_tokens)
            FROM {schema.Name}.context_usage WHERE tenant_id = $1 AND at >= $2 AND at < $3
            GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT {TopConversations}
            """, connection);
        UsageTables.AddTenantRange(command, tenant, from, to);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var top = new List<TopConversation>();
        while (await reader.ReadAsync(ct))
        {
            top.Add(new TopConversation(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
        }
        return top;
    }
}
