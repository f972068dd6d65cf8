using System.Net;
using ConversationService.Knowledge;
using ConversationService.Tests.Infrastructure;
using ConversationService.Tokenizers;
using Microsoft.Extensions.DependencyInjection;

namespace ConversationService.Tests.Knowledge;

[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class KnowledgeTests(ServiceFixture fixture) : IDisposable
{
    private static readonly ExactTiktokenTokenizer O200k = ExactTiktokenTokenizer.CreateForModel("gpt-4o");
    private readonly ApiClient _api = fixture.Client();
    private readonly string _collection = ApiClient.NewId("kb");

    private KnowledgeQueries Queries => fixture.Factory.Services.GetRequiredService<KnowledgeQueries>();

    private static string LongText(string topic, int sentences) => string.Join(" ", Enumerable.Range(1, sentences).Select(i =>
        $"Fact {i} about {topic}: the archive in building {i % 9} keeps record {i} from the year {1900 + i}."));

    private Task<Reply> PutAsync(string docId, object body, ApiClient? api = null) =>
        (api ?? _api).SendAsync(HttpMethod.Put, $"/collections/{_collection}/documents/{docId}", body);

    [Fact]
    public async Task Given_a_new_document_When_put_Then_201_with_chunks_and_get_returns_it()
    {
        var text = LongText("harbours", 60);

        var created = (await PutAsync("guide", new { text, metadata = new { source = "wiki" } })).Expect(HttpStatusCode.Created).Body;
        var read = (await _api.GetAsync($"/collections/{_collection}/documents/guide")).Expect(HttpStatusCode.OK).Body;

        Assert.Equal(created.ToJsonString(), read.ToJsonString());
        Assert.Equal(text, read["text"]!.GetValue<string>());
        Assert.Equal("wiki", read["metadata"]!["source"]!.GetValue<string>());
        Assert.Equal(O200k.CountTokens(text), read["tokens"]!.GetValue<int>());
        var chunks = read["chunks"]!.AsArray();
        Assert.True(chunks.Count >= 3, read.ToJsonString());
        Assert.Equal(chunks.Select((_, i) => $"guide#{i + 1}"), chunks.Select(c => c!["id"]!.GetValue<string>()));
        Assert.All(chunks, c => Assert.InRange(c!["tokens"]!.GetValue<int>(), 1, Chunker.MaxTokens));
    }

    [Fact]
    public async Task Given_a_document_When_put_again_Then_unchanged_stores_nothing_and_a_new_text_replaces_its_chunks()
    {
        var first = (await PutAsync("faq", new { text = LongText("ferries", 40) })).Expect(HttpStatusCode.Created).Body;

        var same = (await PutAsync("faq", new { text = LongText("ferries", 40) })).Expect(HttpStatusCode.OK).Body;
        var replaced = (await PutAsync("faq", new { text = "Ferries leave every hour." })).Expect(HttpStatusCode.OK).Body;

        Assert.Equal(first["version"]!.GetValue<long>(), same["version"]!.GetValue<long>());
        Assert.Equal(first["version"]!.GetValue<long>() + 1, replaced["version"]!.GetValue<long>());
        var chunks = await Queries.GetChunksAsync("tenant-a", [_collection], default);
        var chunk = Assert.Single(chunks);
        Assert.Equal(new KnowledgeChunk("faq#1", _collection, "faq", "Ferries leave every hour.", O200k.CountTokens("Ferries leave every hour.")), chunk);
    }

    [Fact]
    public async Task Given_documents_in_collections_When_chunks_are_queried_Then_only_the_named_collections_come_back_with_vectors()
    {
        var other = ApiClient.NewId("kb");
        (await PutAsync("a", new { text = LongText("bridges", 30) })).Expect(HttpStatusCode.Created);
        (await _api.SendAsync(HttpMethod.Put, $"/collections/{other}/documents/b", new { text = "Other collection." }))
            .Expect(HttpStatusCode.Created);

        var chunks = await Queries.GetChunksAsync("tenant-a", [_collection], default);

        Assert.NotEmpty(chunks);
        Assert.All(chunks, c => Assert.Equal((_collection, "a"), (c.Collection, c.DocumentId)));
        Assert.All(chunks, c => Assert.Equal(O200k.CountTokens(c.Text), c.Tokens));
        Assert.Equal(LongText("bridges", 30), string.Join(" ", chunks.Select(c => c.Text)));
        Assert.Equal(2, (await Queries.GetChunksAsync("tenant-a", [_collection, other], default)).Select(c => c.Collection).Distinct().Count());
    }

    [Fact]
    public async Task Given_a_deleted_document_Then_its_text_and_chunks_are_unreadable_and_the_id_can_be_stored_again()
    {
        var text = $"The lighthouse {Guid.NewGuid():N} was automated in 1987.";
        (await PutAsync("light", new { text })).Expect(HttpStatusCode.Created);

        (await _api.SendAsync(HttpMethod.Delete, $"/collections/{_collection}/documents/light")).Expect(HttpStatusCode.NoContent);

        (await _api.GetAsync($"/collections/{_collection}/documents/light")).ExpectProblem(HttpStatusCode.NotFound);
        (await _api.SendAsync(HttpMethod.Delete, $"/collections/{_collection}/documents/light")).ExpectProblem(HttpStatusCode.NotFound);
        Assert.Empty(await Queries.GetChunksAsync("tenant-a", [_collection], default));
        Assert.Empty((await _api.GetAsync($"/collections/{_collection}/documents")).Body["documents"]!.AsArray());
        var log = await ServiceFixtureQueries.StoredEventsAsync(fixture.ConnectionString, DocumentStream.Id(_collection, "light"));
        Assert.Equal(["document_indexed", "document_deleted"], log.Select(e => e.Type));
        Assert.All(log, e => Assert.DoesNotContain("lighthouse", e.Data, StringComparison.Ordinal));
        (await PutAsync("light", new { text })).Expect(HttpStatusCode.Created);
    }

    [Fact]
    public async Task Given_another_tenants_document_Then_it_is_404_never_listed_nor_queried_and_its_ids_are_free()
    {
        using var tenantB = fixture.Client(ServiceFixture.TenantBKey);
        (await PutAsync("secret", new { text = "Tenant a's secret plan." })).Expect(HttpStatusCode.Created);

        (await tenantB.GetAsync($"/collections/{_collection}/documents/secret")).ExpectProblem(HttpStatusCode.NotFound);
        (await tenantB.SendAsync(HttpMethod.Delete, $"/collections/{_collection}/documents/secret")).ExpectProblem(HttpStatusCode.NotFound);
        Assert.Empty((await tenantB.GetAsync($"/collections/{_collection}/documents")).Body["documents"]!.AsArray());
        Assert.Empty(await Queries.GetChunksAsync("tenant-b", [_collection], default));
        (await PutAsync("secret", new { text = "Tenant b's own." }, tenantB)).Expect(HttpStatusCode.Created);

        var stillA = (await _api.GetAsync($"/collections/{_collection}/documents/secret")).Expect(HttpStatusCode.OK).Body;
        Assert.Equal("Tenant a's secret plan.", stillA["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task Given_several_documents_When_listed_with_a_limit_Then_pages_follow_nextAfter_in_id_order()
    {
        foreach (var id in new[] { "c", "a", "b" })
        {
            (await PutAsync(id, new { text = $"Document {id}." })).Expect(HttpStatusCode.Created);
        }

        var first = (await _api.GetAsync($"/collections/{_collection}/documents?limit=2")).Expect(HttpStatusCode.OK).Body;
        var second = (await _api.GetAsync($"/collections/{_collection}/documents?limit=2&after=b")).Expect(HttpStatusCode.OK).Body;

        Assert.Equal(["a", "b"], first["documents"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()));
        Assert.Equal("b", first["nextAfter"]!.GetValue<string>());
        Assert.Equal(["c"], second["documents"]!.AsArray().Select(d => d!["id"]!.GetValue<string>()));
        Assert.Null(second["nextAfter"]);
        Assert.Equal(1, second["documents"]![0]!["chunkCount"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("/collections/bad%20name/documents/d", "{\"text\":\"x\"}", "collection")]
    [InlineData("/collections/c/documents/bad%20id", "{\"text\":\"x\"}", "docId")]
    [InlineData("/collections/c/documents/d", "{}", "text")]
    [InlineData("/collections/c/documents/d", "{\"text\":\"   \"}", "text")]
    [InlineData("/collections/c/documents/d", "{\"text\":\"a\\u0000b\"}", "text")]
    [InlineData("/collections/c/documents/d", "{\"text\":\"x\",\"metadata\":[1]}", "metadata")]
    public async Task Given_invalid_input_When_a_document_is_put_Then_400_names_the_field(string path, string body, string field)
    {
        (await _api.SendRawAsync(HttpMethod.Put, path, body)).ExpectFieldError(field);
    }

    [Fact]
    public async Task Given_a_text_over_the_content_limit_When_put_Then_413_names_text_and_nothing_is_stored()
    {
        var text = new string('x', 1_048_577);

        (await PutAsync("huge", new { text })).ExpectFieldError("text", HttpStatusCode.RequestEntityTooLarge);

        (await _api.GetAsync($"/collections/{_collection}/documents/huge")).ExpectProblem(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("/collections/bad%20name/documents/d", "collection")]
    [InlineData("/collections/c/documents/bad%20id", "docId")]
    [InlineData("/collections/c/documents?limit=0", "limit")]
    [InlineData("/collections/c/documents?after=bad%20id", "after")]
    public async Task Given_invalid_ids_When_read_Then_400_names_the_field(string path, string field)
    {
        (await _api.GetAsync(path)).ExpectFieldError(field);
    }

    public void Dispose() => _api.Dispose();
}
