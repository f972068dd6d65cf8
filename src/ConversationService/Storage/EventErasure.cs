using JasperFx.Events;
using Marten;

namespace ConversationService.Storage;

/// <summary>
/// An event that carries personal content (texts, names, metadata): <see cref="Erased"/> is the same fact without it.
/// When its subject is deleted, <see cref="EventErasure"/> rewrites the stored event to that form.
/// </summary>
public interface IErasable
{
    object Erased();
}

/// <summary>
/// Deletion erases content from the log in the deleting transaction: every stored <see cref="IErasable"/> event of the
/// given streams is overwritten with its erased form (Marten's <c>OverwriteEvent</c>, as its data masking does), so
/// the log keeps every event, version, sequence number and timestamp, but not the content of a subject that is gone.
/// The caller appends to each of those streams in the same session with an expected version, so an event appended
/// between the read here and the commit makes the whole deletion fail and be tried again: none escapes erasure.
/// </summary>
public static class EventErasure
{
    /// <summary>
    /// Erases the content of <paramref name="streams"/> and appends <paramref name="fact"/> to each, in one transaction,
    /// if each is still at its version; false (nothing stored) when one moved, so the caller reads and tries again.
    /// </summary>
    public static async Task<bool> TryEraseAsync(
        IDocumentStore store, string tenant, IReadOnlyList<(string Key, long Version)> streams, object fact, CancellationToken ct)
    {
        await using var session = store.LightweightSession(tenant);
        await EraseAsync(session, [.. streams.Select(s => s.Key)], ct);
        foreach (var (key, version) in streams)
        {
            session.Events.Append(key, version + 1, fact);
        }
        try
        {
            await session.SaveChangesAsync(ct);
            return true;
        }
        catch (EventStreamUnexpectedMaxEventIdException)
        {
            return false;
        }
    }

    public static async Task EraseAsync(IDocumentSession session, IReadOnlyList<string> streamKeys, CancellationToken ct)
    {
        foreach (var key in streamKeys)
        {
            foreach (var stored in await session.Events.FetchStreamAsync(key, token: ct))
            {
                if (stored.Data is IErasable erasable)
                {
                    session.Events.OverwriteEvent(new Event<object>(erasable.Erased())
                    {
                        Sequence = stored.Sequence, Version = stored.Version, StreamKey = key, TenantId = session.TenantId,
                    });
                }
            }
        }
    }
}
