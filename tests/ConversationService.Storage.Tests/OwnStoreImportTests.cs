using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ConversationService.Storage;
using ConversationService.Storage.Tests.Infrastructure;
using ConversationService.Summaries;
using JasperFx.Events;
using Marten;
using Npgsql;

namespace ConversationService.Storage.Tests;

/// <summary>
/// A database written by the service's own earlier event store (OwnStore/own-store.sql, made by OwnStore/generate.sh
/// through that version's API) is imported into Marten when today's service first starts on it, and the API then
/// answers what the earlier version answered (OwnStore/expected.json).
/// </summary>
public sealed class OwnStoreImportTests
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "OwnStore");

    private static readonly Dictionary<string, string?> NoDaemon = new() { ["EventStore:RunDaemon"] = "false" };

    [Fact]
    public async Task Given_a_database_of_the_own_store_When_the_service_starts_Then_the_api_answers_as_before()
    {
        await using var database = await RestoredAsync();
        await using var host = new StorageHost(database);

        var service = host.Start(NoDaemon);

        foreach (var expected in JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Fixture, "expected.json")))!.AsArray())
        {
            var (tenant, path) = (expected!["tenant"]!.GetValue<string>(), expected["path"]!.GetValue<string>());
            using var client = StorageHost.Client(service, tenant);
            var (status, body) = await StorageHost.GetAsync(client, path);
            Assert.True((int)status == expected["status"]!.GetValue<int>(), $"{tenant} {path}: {(int)status}");
            Json.AssertEquivalent(expected["body"], body, $"{tenant} {path}");
        }
    }

    private static async Task<TestDatabase> RestoredAsync()
    {
        var database = await TestDatabase.CreateAsync();
        await database.ExecuteAsync(await File.ReadAllTextAsync(Path.Combine(Fixture, "own-store.sql")));
        return database;
    }
}
