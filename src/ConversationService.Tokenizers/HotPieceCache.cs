using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ConversationService.Tokenizers;

/// <summary>
/// Token counts of short pre-tokens (up to 16 UTF-8 bytes), in a direct-mapped table small enough to stay in the
/// CPU cache: the vocabulary tables are megabytes, and one cache miss per word was most of the counting time.
/// Entries are immutable objects published with one reference write, so readers need no lock; a slot is filled
/// once and never replaced, which bounds memory and keeps the steady state free of allocation.
/// </summary>
internal sealed class HotPieceCache
{
    public const int MaxBytes = 16;
    private const int SlotBits = 16;

    private readonly Entry?[] _slots = new Entry?[1 << SlotBits];

    /// <summary>
    /// <paramref name="buffer"/> holds the piece in its first <paramref name="length"/> bytes and is at least
    /// <see cref="MaxBytes"/> long, so both halves of the key can be read whole and masked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (ulong Low, ulong High) Key(ReadOnlySpan<byte> buffer, int length)
    {
        ref var start = ref MemoryMarshal.GetReference(buffer);
        var low = Unsafe.ReadUnaligned<ulong>(ref start);
        var high = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, 8));
        if (length < 8)
        {
            return (low & ((1UL << (length * 8)) - 1), 0);
        }

        return (low, length == 16 ? high : high & ((1UL << ((length - 8) * 8)) - 1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryGet(ulong low, ulong high, int length, out int count, out int slot)
    {
        var hash = (low * 0x9E3779B97F4A7C15UL) ^ (high * 0xC2B2AE3D27D4EB4FUL) ^ (ulong)length;
        slot = (int)((hash ^ (hash >> 29)) * 0xFF51AFD7ED558CCDUL >> (64 - SlotBits));
        var entry = Volatile.Read(ref _slots[slot]);
        if (entry is not null && entry.Low == low && entry.High == high && entry.Length == length)
        {
            count = entry.Count;
            return true;
        }

        count = 0;
        return false;
    }

    public void Add(int slot, ulong low, ulong high, int length, int count)
    {
        if (Volatile.Read(ref _slots[slot]) is null)
        {
            Interlocked.CompareExchange(ref _slots[slot], new Entry(low, high, length, count), null);
        }
    }

    private sealed record Entry(ulong Low, ulong High, int Length, int Count);
}
