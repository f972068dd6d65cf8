using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ConversationService.Tokenizers;

/// <summary>
/// Token counts of short pre-tokens (up to 16 UTF-8 bytes), in a direct-mapped table small enough to stay in the
/// CPU cache: the vocabulary tables are megabytes, and one cache miss per word was most of the counting time.
/// Slots are preallocated structs guarded by a sequence number (a seqlock), so a newer word can replace an older
/// one without allocating, readers never block, and a reader that races a writer just sees a miss.
/// </summary>
internal sealed class HotPieceCache
{
    public const int MaxBytes = 16;
    private const int SlotBits = 15;

    private readonly Slot[] _slots = new Slot[1 << SlotBits];

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
    public bool TryGet(ulong low, ulong high, int length, out int count, out int index)
    {
        var hash = (low * 0x9E3779B97F4A7C15UL) ^ (high * 0xC2B2AE3D27D4EB4FUL) ^ (ulong)length;
        index = (int)((hash ^ (hash >> 29)) * 0xFF51AFD7ED558CCDUL >> (64 - SlotBits));
        ref var slot = ref _slots[index];

        // Acquire reads keep the field reads between the two sequence reads; an odd or changed sequence is a write in flight.
        var sequence = Volatile.Read(ref slot.Sequence);
        var hit = Volatile.Read(ref slot.Low) == low && Volatile.Read(ref slot.High) == high && Volatile.Read(ref slot.Length) == length;
        count = Volatile.Read(ref slot.Count);
        return hit && (sequence & 1) == 0 && Volatile.Read(ref slot.Sequence) == sequence;
    }

    public void Set(int index, ulong low, ulong high, int length, int count)
    {
        ref var slot = ref _slots[index];
        var sequence = Volatile.Read(ref slot.Sequence);
        if ((sequence & 1) != 0 || Interlocked.CompareExchange(ref slot.Sequence, sequence + 1, sequence) != sequence)
        {
            return; // another thread is writing this slot; skipping is fine for a cache
        }

        Volatile.Write(ref slot.Low, low);
        Volatile.Write(ref slot.High, high);
        Volatile.Write(ref slot.Length, length);
        Volatile.Write(ref slot.Count, count);
        Volatile.Write(ref slot.Sequence, sequence + 2);
    }

    // Length 0 never matches a lookup, so a fresh slot is empty.
    private struct Slot
    {
        public int Sequence;
        public int Length;
        public int Count;
        public ulong Low;
        public ulong High;
    }
}
