namespace ConversationService.Tokenizers.Tests;

public sealed class HotPieceCacheTests
{
    [Fact]
    public async Task Given_threads_racing_on_one_slot_When_reading_Then_a_hit_never_returns_another_keys_count()
    {
        var cache = new HotPieceCache();
        var keys = KeysSharingOneSlot(cache, 8);
        var torn = 0;
        var hits = 0;
        var stop = 0;

        // Two writers keep replacing the one slot that two readers are reading.
        // Dedicated threads, so that readers and writers really overlap on a small thread pool.
        var writers = Enumerable.Range(0, 2).Select(w => Task.Factory.StartNew(() =>
        {
            for (var i = 0; Volatile.Read(ref stop) == 0; i++)
            {
                var (low, high, length, slot) = keys[(i + w) % keys.Count];
                cache.Set(slot, low, high, length, CountFor(low, length));
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        var readers = Enumerable.Range(0, 2).Select(r => Task.Factory.StartNew(() =>
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            for (var i = 0; Volatile.Read(ref hits) < 300_000 && watch.ElapsedMilliseconds < 1500; i++)
            {
                var (low, high, length, _) = keys[(i * 3 + r) % keys.Count];
                if (cache.TryGet(low, high, length, out var count, out _))
                {
                    Interlocked.Increment(ref hits);
                    if (count != CountFor(low, length))
                    {
                        Interlocked.Increment(ref torn);
                    }
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        await Task.WhenAll(readers);
        Volatile.Write(ref stop, 1);
        await Task.WhenAll(writers);

        Assert.Equal(0, torn);
        Assert.True(hits > 0);
    }

    private static int CountFor(ulong low, int length) => (int)(low % 1000) + length;

    private static List<(ulong Low, ulong High, int Length, int Slot)> KeysSharingOneSlot(HotPieceCache cache, int count)
    {
        var random = new Random(7);
        var buffer = new byte[HotPieceCache.MaxBytes];
        var keys = new List<(ulong, ulong, int, int)>();
        var target = -1;
        while (keys.Count < count)
        {
            random.NextBytes(buffer);
            var length = random.Next(1, HotPieceCache.MaxBytes + 1);
            var (low, high) = HotPieceCache.Key(buffer, length);
            cache.TryGet(low, high, length, out _, out var slot);
            if (target < 0)
            {
                target = slot;
            }

            if (slot == target)
            {
                keys.Add((low, high, length, slot));
            }
        }

        return keys;
    }

    [Fact]
    public void Given_keys_that_differ_only_past_their_length_When_packed_Then_they_are_equal()
    {
        byte[] first = [1, 2, 3, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9];
        byte[] second = [1, 2, 3, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7];

        Assert.Equal(HotPieceCache.Key(first, 3), HotPieceCache.Key(second, 3));
        Assert.NotEqual(HotPieceCache.Key(first, 4), HotPieceCache.Key(second, 4));
        Assert.NotEqual(HotPieceCache.Key(first, 12), HotPieceCache.Key(second, 12));
    }
}
