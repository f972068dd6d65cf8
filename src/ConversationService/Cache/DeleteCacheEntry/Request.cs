using FastEndpoints;

namespace ConversationService.Cache.DeleteCacheEntry;

public sealed class Request
{
    [RouteParam]
    public string Key { get; set; } = "";
}
