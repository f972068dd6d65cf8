using System.Diagnostics;
using System.Diagnostics.Metrics;
using ConversationService.Hosting;

namespace ConversationService.Cache;

/// <summary>
/// The semantic response cache on the service meter (README, "Telemetry"): lookups by outcome, and the tokens the hits
/// saved, by tenant and model.
/// </summary>
public sealed class CacheMetrics(ServiceMeter meter)
{
    private readonly Counter<long> _lookups = meter.Meter.CreateCounter<long>(
        "conversation_service.cache.lookups", "{lookup}", "Semantic cache lookups by tenant, model and outcome (hit, miss).");

    private readonly Counter<long> _saved = meter.Meter.CreateCounter<long>(
        "conversation_service.cache.tokens_saved", "{token}",
        "Tokens the hits saved by tenant, model and token type (input: the prompt; output: the stored response).");

    public void LookedUp(string tenant, string model, bool hit, long inputTokens, long outputTokens)
    {
        var tags = new TagList { { "tenant", tenant }, { "model", model } };
        var outcome = tags;
        outcome.Add("outcome", hit ? "hit" : "miss");
        _lookups.Add(1, outcome);
        if (hit)
        {
            Add(tags, "input", inputTokens);
            Add(tags, "output", outputTokens);
        }
    }

    private void Add(TagList tags, string type, long count)
    {
        tags.Add("token_type", type);
        _saved.Add(count, tags);
    }
}
