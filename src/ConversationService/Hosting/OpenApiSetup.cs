using NJsonSchema.Generation;
using NSwag;
using NSwag.AspNetCore;
using Scalar.AspNetCore;
using FastEndpoints.Swagger;

namespace ConversationService.Hosting;

/// <summary>
/// The OpenAPI document comes from FastEndpoints.Swagger (NSwag), which lists the path, query and header parameters of
/// the endpoints; it is served at the contract's /openapi/v1.json, with Swagger UI at /swagger and Scalar at /scalar.
/// </summary>
public static class OpenApiSetup
{
    private const string DocumentPath = "/openapi/{documentName}.json";

    public static WebApplicationBuilder AddOpenApiDocument(this WebApplicationBuilder builder)
    {
        builder.Services.SwaggerDocument(options =>
        {
            options.EnableJWTBearerAuth = false;
            // GET and POST context share their parameters' type: each body schema holds all of its own properties.
            options.FlattenSchema = true;
            options.RemoveEmptyRequestSchema = true;
            options.DocumentSettings = settings =>
            {
                settings.DocumentName = "v1";
                settings.Title = "ConversationService";
                settings.Version = "v1";
                settings.Description = "Event-sourced conversation memory: turns in, budgeted context windows out.";
                settings.SchemaSettings.SchemaNameGenerator = new UseCaseSchemaNames();
                // FastEndpoints applies the JSON naming policy to header names too ("if-Match"); headers keep theirs.
                settings.PostProcess = document =>
                {
                    foreach (var parameter in document.Operations.SelectMany(o => o.Operation.Parameters)
                                 .Where(p => p.Kind == OpenApiParameterKind.Header))
                    {
                        parameter.Name = char.ToUpperInvariant(parameter.Name[0]) + parameter.Name[1..];
                    }
                };
                settings.AddAuth("ApiKey", new OpenApiSecurityScheme
                {
                    Type = OpenApiSecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "Authorization: Bearer <api-key>; each key maps to one tenant (Auth:ApiKeys).",
                });
            };
        });
        return builder;
    }

    public static WebApplication MapOpenApiAndSwagger(this WebApplication app)
    {
        app.UseOpenApi(options => options.Path = DocumentPath);
        app.UseSwaggerUi(settings => settings.ConfigureDefaults(ui =>
        {
            ui.Path = "/swagger";
            ui.DocumentPath = DocumentPath;
        }));
        app.MapScalarApiReference("/scalar", options => options.OpenApiRoutePattern = DocumentPath).AllowAnonymous();
        return app;
    }

    /// <summary>
    /// Every use case names its types Request and Response in its own namespace; a schema is named after that namespace
    /// ("AppendTurnsRequest"), and a nested type after the type it is declared in.
    /// </summary>
    private sealed class UseCaseSchemaNames : ISchemaNameGenerator
    {
        public string Generate(Type type)
        {
            var name = type.IsGenericType ? type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)] : type.Name;
            var owner = type.DeclaringType?.Name ?? type.Namespace?[(type.Namespace.LastIndexOf('.') + 1)..] ?? "";
            var qualified = name.StartsWith(owner, StringComparison.Ordinal) ? name : owner + name;
            return type.IsGenericType
                ? qualified + "Of" + string.Concat(type.GetGenericArguments().Select(Generate))
                : qualified;
        }
    }
}
