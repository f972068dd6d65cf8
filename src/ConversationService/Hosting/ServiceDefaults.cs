using FastEndpoints;

namespace ConversationService.Hosting;

/// <summary>
/// What every request goes through, in one place (as dotnet/eShop's ServiceDefaults): options, telemetry, problem
/// details, overload protection, API-key authentication, health checks, the FastEndpoints endpoints and the OpenAPI document. Features
/// register only their own services.
/// </summary>
public static class ServiceDefaults
{
    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        builder.AddServiceOptions()
            .AddTelemetry()
            .AddProblemHandling()
            .AddOverloadProtection()
            .AddApiKeyAuthentication()
            .AddReadinessChecks()
            .AddOpenApiDocument();
        builder.Services.AddFastEndpoints(discovery =>
        {
            discovery.DisableAutoDiscovery = true;
            discovery.Assemblies = [typeof(ServiceDefaults).Assembly];
        });
        return builder;
    }

    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        app.UseProblemHandling();
        app.UseTelemetry();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseOverloadProtection();
        app.UseFastEndpoints(config =>
        {
            // Problem details as ASP.NET Core writes them: errors is a dictionary from field to messages.
            config.Errors.ResponseBuilder = ValidationProblems.Build;
            config.Errors.ProducesMetadataType = typeof(HttpValidationProblemDetails);
            config.Binding.JsonExceptionTransformer = ValidationProblems.FromJson;
        });
        app.MapOpenApiAndSwagger();
        app.MapHealthEndpoints();
        return app;
    }
}
