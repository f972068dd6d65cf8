namespace ConversationService.Operations;

public static class OperationsModule
{
    /// <summary>The background work not done yet (summary and subscription lag, parked events), per tenant and overall.</summary>
    public static WebApplicationBuilder AddOperations(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<OperationsStatus>();
        return builder;
    }
}
