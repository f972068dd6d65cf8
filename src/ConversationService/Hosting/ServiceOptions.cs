using System.Text.RegularExpressions;
using ConversationService.Messaging;
using ConversationService.Tokenizers;
using Microsoft.Extensions.Options;

namespace ConversationService.Hosting;

public sealed class ConnectionStringsOptions
{
    public string Postgres { get; set; } = "";
    public string RabbitMq { get; set; } = "";
}

public sealed class LimitsOptions
{
    public int MaxContentBytes { get; set; } = 1_048_576;
    public int MaxTurnsPerBatch { get; set; } = 1_000;

    /// <summary>Whole request body; larger bodies get 413 before they are parsed.</summary>
    public long MaxRequestBodyBytes { get; set; } = 32 * 1_048_576;

    /// <summary>One metadata object (a turn's, a conversation's, a document's) as UTF-8 JSON; 413 past it.</summary>
    public int MaxMetadataBytes { get; set; } = 16_384;

    /// <summary>
    /// Nesting of one metadata object, itself included. Responses and integration events wrap metadata a few levels
    /// deeper, and System.Text.Json stops at 64, so the ceiling is 32.
    /// </summary>
    public int MaxMetadataDepth { get; set; } = 16;
}

public sealed class ConversationsOptions
{
    public string DefaultModel { get; set; } = "gpt-4o";

    /// <summary>Memory for per-conversation snapshots of turns that the context endpoint reads from; 0 turns them off.</summary>
    public int SnapshotCacheMegabytes { get; set; } = 64;
}

public sealed class ContextOptions
{
    /// <summary>Memory for serialized context answers, replayed while nothing they depend on changed; 0 turns them off.</summary>
    public int ResponseCacheMegabytes { get; set; } = 32;

    /// <summary>
    /// Memory for the libraries that context requests draw on: knowledge collections (chunks, vectors, BM25 postings)
    /// and few-shot examples (with their vectors); 0 turns it off.
    /// </summary>
    public int LibraryCacheMegabytes { get; set; } = 256;

}

/// <summary>The event-store schema name, validated once so it can be spliced into SQL safely.</summary>
public sealed record DatabaseSchema(string Name);

public static partial class ServiceOptionsExtensions
{
    [GeneratedRegex(@"^[a-z_][a-z0-9_]{0,62}\z")]
    private static partial Regex SchemaName();

    /// <summary>Binds and validates every option at start-up; each message says which key to set.</summary>
    public static WebApplicationBuilder AddServiceOptions(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ConnectionStringsOptions>()
            .Bind(builder.Configuration.GetSection("ConnectionStrings"))
            .Validate(o => !string.IsNullOrWhiteSpace(o.Postgres),
                "ConnectionStrings:Postgres is not set (env ConnectionStrings__Postgres), e.g. "
                + "'Host=localhost;Port=5432;Database=conversation_service;Username=conversation_service;Password=...'.")
            .Validate(o => Uri.TryCreate(o.RabbitMq, UriKind.Absolute, out var uri) && uri.Scheme is "amqp" or "amqps",
                "ConnectionStrings:RabbitMq must be an amqp:// URI (env ConnectionStrings__RabbitMq), "
                + "e.g. 'amqp://guest:guest@localhost:5672/'.")
            .ValidateOnStart();
        services.AddOptions<LimitsOptions>()
            .Bind(builder.Configuration.GetSection("Limits"))
            .Validate(o => o.MaxContentBytes > 0, "Limits:MaxContentBytes must be a positive number of bytes.")
            .Validate(o => o.MaxTurnsPerBatch > 0, "Limits:MaxTurnsPerBatch must be positive.")
            .Validate(o => o.MaxRequestBodyBytes >= o.MaxContentBytes,
                "Limits:MaxRequestBodyBytes must be at least Limits:MaxContentBytes.")
            .Validate(o => o.MaxMetadataBytes > 0, "Limits:MaxMetadataBytes must be a positive number of bytes.")
            .Validate(o => o.MaxMetadataDepth is >= 1 and <= 32, "Limits:MaxMetadataDepth must be between 1 and 32.")
            .ValidateOnStart();
        services.AddOptions<ConversationsOptions>()
            .Bind(builder.Configuration.GetSection("Conversations"))
            .Validate<IOptions<TokenizersOptions>>(
                (o, tokenizers) => ExactTiktokenTokenizer.TryGetEncodingForModel(o.DefaultModel, out _)
                    || tokenizers.Value.Models.ContainsKey(o.DefaultModel),
                "Conversations:DefaultModel names an unsupported model; use e.g. 'gpt-4o', or configure Tokenizers:Models for it.")
            .Validate(o => o.SnapshotCacheMegabytes is >= 0 and <= 65_536,
                "Conversations:SnapshotCacheMegabytes must be between 0 (off) and 65536.")
            .ValidateOnStart();
        services.AddOptions<TokenizersOptions>()
            .Bind(builder.Configuration.GetSection("Tokenizers"))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<TokenizersOptions>>(new ProblemsValidator<TokenizersOptions>(o => o.Problems()));
        services.AddOptions<ContextOptions>()
            .Bind(builder.Configuration.GetSection("Context"))
            .Validate(o => o.ResponseCacheMegabytes is >= 0 and <= 65_536,
                "Context:ResponseCacheMegabytes must be between 0 (off) and 65536.")
            .Validate(o => o.LibraryCacheMegabytes is >= 0 and <= 65_536,
                "Context:LibraryCacheMegabytes must be between 0 (off) and 65536.")
            .ValidateOnStart();

        var schema = builder.Configuration["EventStore:Schema"] ?? "conversations";
        if (!SchemaName().IsMatch(schema))
        {
            throw new InvalidOperationException(
                $"EventStore:Schema '{schema}' is not a plain PostgreSQL identifier (lower-case letters, digits, '_').");
        }
        services.AddSingleton(new DatabaseSchema(schema));
        services.AddSingleton(TimeProvider.System);
        return builder;
    }
}
