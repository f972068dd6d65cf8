using System.Diagnostics;
using System.Diagnostics.Metrics;
using ConversationService.Hosting;

namespace ConversationService.Usage;

/// <summary>
/// LLM usage on the service meter (README, "Telemetry"): calls, tokens and cost by tenant, model and call type, and
/// the share of each tenant's daily budget spent.
/// </summary>
public sealed class UsageMetrics
{
    private readonly Counter<long> _calls;
    private readonly Counter<long> _tokens;
    private readonly Counter<double> _cost;
    private readonly Gauge<double> _budgetUsed;

    public UsageMetrics(ServiceMeter meter)
    {
        var m = meter.Meter;
        _calls = m.CreateCounter<long>(
            "conversation_service.llm.calls", "{call}", "Answered LLM and embedding provider calls, by tenant, model and call type.");
        _tokens = m.CreateCounter<long>(
            "conversation_service.llm.tokens", "{token}",
            "Tokens of those calls by tenant, model, call type and token type (input, which includes cached_input, and output).");
        _cost = m.CreateCounter<double>(
            "conversation_service.llm.cost_usd", "{USD}", "Price of those calls at Llm:Prices, by tenant, model and call type.");
        _budgetUsed = m.CreateGauge<double>(
            "conversation_service.llm.daily_budget_used", "1",
            "Share of the tenant's daily budget (Llm:DailyBudgetUsd) spent this UTC day, as last checked before a paid call.");
    }

    public void Called(LlmCall call)
    {
        var tags = new TagList { { "tenant", call.Tenant }, { "model", call.Model }, { "call_type", call.CallType } };
        _calls.Add(1, tags);
        _cost.Add((double)call.CostUsd, tags);
        AddTokens(tags, "input", call.Usage.InputTokens);
        AddTokens(tags, "cached_input", call.Usage.CachedInputTokens);
        AddTokens(tags, "output", call.Usage.OutputTokens);
    }

    public void BudgetUsed(string tenant, decimal spent, decimal budget) =>
        _budgetUsed.Record((double)(spent / budget), new KeyValuePair<string, object?>("tenant", tenant));

    private void AddTokens(TagList tags, string type, int count)
    {
        tags.Add("token_type", type);
        _tokens.Add(count, tags);
    }
}
