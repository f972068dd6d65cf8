using ConversationService.Hosting;

namespace ConversationService.Cache;

public static class CacheModule
{
    /// <summary>The semantic response cache: its settings, its table (a hosted service that creates it and purges expired entries) and the query builder.</summary>
    public static WebApplicationBuilder AddCache(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddCheckedOptions<CacheOptions>(builder.Configuration.GetSection("Cache"), o => o.Problems());
        services.AddSingleton<CacheTable>();
        services.AddHostedService(provider => provider.GetRequiredService<CacheTable>());
        services.AddSingleton<CacheQueries>();
        services.AddSingleton<CacheMetrics>();
        return builder;
    }
}
