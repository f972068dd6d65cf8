using System.Text.RegularExpressions;
using ConversationService.Messaging;
using ConversationService.Tokenizers;
using Microsoft.Extensions.Options;

namespace ConversationService.Hosting;

public sealed class ConnectionStringsOptions
{
    public string Postgres { get; set; } = "";
    public string RabbitMq { get; set; } = "";

    public IEnumerable<string> Problems()
    {
        if (string.IsNullOrWhiteSpace(Postgres))
        {
            yield return "ConnectionStrings:Postgres is not set (env ConnectionStrings__Postgres), e.g. "
                + "'Host=localhost;Port=5432;Database=conversation_service;Username=conversation_service;Password=...'.";
        }
        if (!Uri.TryCreate(RabbitMq, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps"))
        {
            yield return "ConnectionStrings:RabbitMq must be an amqp:// URI (env ConnectionStrings__RabbitMq), "
                + "e.g. 'amqp://guest:guest@localhost:5672/'.";
        }
    }
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

    public IEnumerable<string> Problems()
    {
        if (MaxContentBytes <= 0)
        {
            yield return "Limits:MaxContentBytes must be a positive number of bytes.";
        }
        if (MaxTurnsPerBatch <= 0)
        {
            yield return "Limits:MaxTurnsPerBatch must be positive.";
        }
        if (MaxRequestBodyBytes < MaxContentBytes)
        {
            yield return "Limits:MaxRequestBodyBytes must be at least Limits:MaxContentBytes.";
        }
        if (MaxMetadataBytes <= 0)
        {
            yield return "Limits:MaxMetadataBytes must be a positive number of bytes.";
        }
        if (MaxMetadataDepth is < 1 or > 32)
        {
            yield return "Limits:MaxMetadataDepth must be between 1 and 32.";
        }
    }
}

public sealed class ConversationsOptions
{
    public string DefaultModel { get; set; } = "gpt-4o";

    /// <summary>Memory for per-conversation snapshots of turns that the context endpoint reads from; 0 turns them off.</summary>
    public int SnapshotCacheMegabytes { get; set; } = 64;

    public IEnumerable<string> Problems()
    {
        // DefaultModel is checked where the configured tokenizers are known (AddServiceOptions).
        if (SnapshotCacheMegabytes is < 0 or > 65_536)
        {
            yield return "Conversations:SnapshotCacheMegabytes must be between 0 (off) and 65536.";
        }
    }
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

    public IEnumerable<string> Problems()
    {
        if (ResponseCacheMegabytes is < 0 or > 65_536)
        {
            yield return "Context:ResponseCacheMegabytes must be between 0 (off) and 65536.";
        }
        if (LibraryCacheMegabytes is < 0 or > 65_536)
        {
            yield return "Context:LibraryCacheMegabytes must be between 0 (off) and 65536.";
        }
    }
}

public static class ServiceOptionsExtensions
{
    /// <summary>Binds and validates every option at start-up; each message says which key to set.</summary>
    public static WebApplicationBuilder AddServiceOptions(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddCheckedOptions<ConnectionStringsOptions>(configuration.GetSection("ConnectionStrings"), o => o.Problems());
        services.AddCheckedOptions<LimitsOptions>(configuration.GetSection("Limits"), o => o.Problems());
        services.AddCheckedOptions<TokenizersOptions>(configuration.GetSection("Tokenizers"), o => o.Problems());
        services.AddCheckedOptions<ConversationsOptions>(configuration.GetSection("Conversations"), o => o.Problems())
            .Validate<IOptions<TokenizersOptions>>(
                (o, tokenizers) => ExactTiktokenTokenizer.TryGetEncodingForModel(o.DefaultModel, out _)
                    || tokenizers.Value.Models.ContainsKey(o.DefaultModel),
                "Conversations:DefaultModel names an unsupported model; use e.g. 'gpt-4o', or configure Tokenizers:Models for it.");
        services.AddCheckedOptions<ContextOptions>(configuration.GetSection("Context"), o => o.Problems());
        services.AddSingleton(TimeProvider.System);
        return builder;
    }
}
