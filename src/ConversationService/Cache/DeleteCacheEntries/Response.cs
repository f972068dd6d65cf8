namespace ConversationService.Cache.DeleteCacheEntries;

/// <summary>How many entries of the tenant were deleted.</summary>
public sealed record Response(int Deleted);
