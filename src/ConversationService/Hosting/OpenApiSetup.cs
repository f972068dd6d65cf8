using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace ConversationService.Hosting;

public static class OpenApiSetup
{
    public static WebApplicationBuilder AddOpenApiDocument(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(options =>
        {
            // Use cases nest their Request/Response types; qualify them so the schemas do not collide.
            options.CreateSchemaReferenceId = info => info.Type.DeclaringType is { } owner
                ? owner.Name + info.Type.Name
                : OpenApiOptions.CreateDefaultSchemaReferenceId(info);
            options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "ConversationService";
            document.Info.Description = "Event-sourced conversation memory: turns in, budgeted context windows out.";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["ApiKey"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "Authorization: Bearer <api-key>; each key maps to one tenant (Auth:ApiKeys).",
            };
            document.Security ??= [];
            document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("ApiKey", document)] = [] });
            return Task.CompletedTask;
        });
        });
        return builder;
    }

    public static WebApplication MapOpenApiAndSwagger(this WebApplication app)
    {
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.UseSwaggerUI(options =>
        {
            options.SwaggerEndpoint("/openapi/v1.json", "ConversationService v1");
            options.RoutePrefix = "swagger";
        });
        return app;
    }
}
