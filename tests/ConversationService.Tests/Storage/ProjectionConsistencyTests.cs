using System.Net;
using ConversationService.Conversations;
using ConversationService.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using static ConversationService.Tests.Storage.StorageProbe;

namespace ConversationService.Tests.Storage;

/// <summary>
/// Issue 15, item 3: the inline projection's documents always agree with their streams under concurrent writers. A
/// conversation's document and its turn documents are written in the append's transaction; writers on two replicas
/// race for the same conversations (creating them too), and every document must end up describing its stream exactly.
/// </summary>
[Collection(Infrastructure.ServiceCollection.Name)]
public sealed class ProjectionConsistencyTests(ServiceFixture fixture)
{
    [Fact]
    public async Task Given_32_concurrent_writers_on_two_replicas_and_four_conversations_When_they_are_done_Then_every_document_agrees_with_its_stream()
    {
        const int writers = 32, steps = 8;
        await using var other = fixture.CreateFactory(new Dictionary<string, string?>());
        using var here = fixture.Client();
        using var there = Client(other);
        var conversations = Enumerable.Range(0, 4).Select(_ => ApiClient.NewId()).ToArray();
        var posted = new System.Collections.Concurrent.ConcurrentBag<string>();

        var replies = await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var api = w % 2 == 0 ? here : there;
            var statuses = new List<(string What, HttpStatusCode Status, string Text)>();
            for (var step = 0; step < steps; step++)
            {
                var id = conversations[(w + step) % conversations.Length];
                Reply reply;
                if (w % 8 == 0 && step == 3)
                {
                    // A settings change moves the version without a turn.
                    reply = await api.PutConversationAsync(id, new { systemPrompt = $"Prompt of writer {w}." });
                }
                else if (w % 3 == 0)
                {
                    var ids = new[] { $"w{w}-s{step}-a", $"w{w}-s{step}-b" };
                    reply = await api.AppendAsync(id, new { turns = ids.Select(t => new { id = t, role = "user", content = $"turn {t}" }).ToArray() });
                    foreach (var t in ids)
                    {
                        posted.Add(t);
                    }
                }
                else
                {
                    var t = $"w{w}-s{step}";
                    reply = await api.AppendTurnAsync(id, w % 2 == 0 ? "user" : "assistant", $"turn {t}", t);
                    posted.Add(t);
                }
                statuses.Add(($"writer {w} step {step} on {id}", reply.Status, reply.Text));
            }
            return statuses;
        })));

        Assert.All(replies.SelectMany(r => r), r => Assert.True(r.Status is HttpStatusCode.Created or HttpStatusCode.OK,
            $"{r.What}: {(int)r.Status} {r.Text}"));
        var stored = new List<string>();
        foreach (var id in conversations)
        {
            var stream = await StreamAsync(fixture.Store(), id);
            var (view, turnDocuments) = await DocumentsAsync(fixture.Store(), id);
            var turnEvents = stream.Where(e => e.Data is TurnAppended).ToList();
            var turns = turnEvents.Select(e => (TurnAppended)e.Data).ToList();
            stored.AddRange(turns.Select(t => t.TurnId));

            Assert.NotNull(view);
            Assert.Equal(Enumerable.Range(1, stream.Count).Select(v => (long)v), stream.Select(e => e.Version));
            Assert.Equal(stream[^1].Version, view.Version);
            Assert.Equal(turnEvents.Count, view.TurnCount);
            Assert.Equal(turns.Sum(t => (long)t.Tokens), view.TotalTokens);
            Assert.Equal(Enumerable.Range(1, turns.Count), turns.Select(t => t.Index));
            Assert.Equal(
                turnEvents.Select(e => (((TurnAppended)e.Data).Index, ((TurnAppended)e.Data).TurnId, e.Version, ((TurnAppended)e.Data).Content)),
                turnDocuments.Select(t => (t.Index, t.TurnId, t.Version, t.Content)));
            // Both replicas answer from the same documents.
            foreach (var api in new[] { here, there })
            {
                var body = (await api.GetConversationAsync(id)).Expect(HttpStatusCode.OK).Body;
                Assert.Equal((view.Version, view.TurnCount), (body["version"]!.GetValue<long>(), body["turnCount"]!.GetValue<int>()));
            }
        }
        Assert.Equal(posted.Order(StringComparer.Ordinal), stored.Order(StringComparer.Ordinal));
    }

    private static ApiClient Client(WebApplicationFactory<Program> replica)
    {
        var http = replica.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", ServiceFixture.TenantAKey);
        return new ApiClient(http);
    }
}
