using System.Buffers.Text;
using System.IO.Compression;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ConversationService.Tokenizers;

/// <summary>
/// Byte-sequence to rank table of one encoding. A hand-rolled open-addressing table over one byte blob, because
/// the merge loop probes it with slices of a stack buffer and a Dictionary would need a key object per probe.
/// </summary>
internal sealed class Vocabulary
{
    public const int NotFound = int.MaxValue;

    private readonly byte[] _blob;
    private readonly int[] _offsets;   // by rank; _offsets[rank + 1] - _offsets[rank] is the token length
    private readonly int[] _slots;     // rank + 1, 0 = empty
    private readonly uint[] _slotHashes;
    private readonly int _mask;
    private readonly byte[]?[] _specialTokens; // by rank - _offsets.Length + 1

    // Loading runs once per process, on the first request; tiered compilation would run these loops unoptimized.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Vocabulary(byte[] blob, int[] offsets, IReadOnlyDictionary<string, int> specialTokens)
    {
        _blob = blob;
        _offsets = offsets;
        var count = offsets.Length - 1;
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)(count * 2));
        _slots = new int[size];
        _slotHashes = new uint[size];
        _mask = size - 1;
        for (var rank = 0; rank < count; rank++)
        {
            var token = Token(rank);
            var hash = Hash(token);
            var slot = (int)hash & _mask;
            while (_slots[slot] != 0)
            {
                slot = (slot + 1) & _mask;
            }

            _slots[slot] = rank + 1;
            _slotHashes[slot] = hash;
        }

        var maxSpecial = specialTokens.Count == 0 ? count - 1 : specialTokens.Values.Max();
        _specialTokens = new byte[]?[Math.Max(0, maxSpecial - count + 1)];
        foreach (var (text, rank) in specialTokens)
        {
            _specialTokens[rank - count] = System.Text.Encoding.UTF8.GetBytes(text);
        }
    }

    /// <summary>Number of ordinary (mergeable) tokens; their ranks are 0..Count-1.</summary>
    public int Count => _offsets.Length - 1;

    public ReadOnlySpan<byte> Token(int rank) => _blob.AsSpan(_offsets[rank], _offsets[rank + 1] - _offsets[rank]);

    /// <summary>Bytes of an ordinary or special token; false for an id outside the encoding.</summary>
    public bool TryGetTokenBytes(int id, out ReadOnlySpan<byte> bytes)
    {
        if ((uint)id < (uint)Count)
        {
            bytes = Token(id);
            return true;
        }

        var special = id - Count;
        if (special >= 0 && special < _specialTokens.Length && _specialTokens[special] is { } token)
        {
            bytes = token;
            return true;
        }

        bytes = default;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Rank(ReadOnlySpan<byte> bytes)
    {
        var hash = Hash(bytes);
        var slot = (int)hash & _mask;
        while (true)
        {
            var entry = _slots[slot];
            if (entry == 0)
            {
                return NotFound;
            }

            if (_slotHashes[slot] == hash)
            {
                var rank = entry - 1;
                var start = _offsets[rank];
                if (_offsets[rank + 1] - start == bytes.Length && bytes.SequenceEqual(_blob.AsSpan(start, bytes.Length)))
                {
                    return rank;
                }
            }

            slot = (slot + 1) & _mask;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(ReadOnlySpan<byte> bytes)
    {
        ref var start = ref MemoryMarshal.GetReference(bytes);
        var length = bytes.Length;
        var h = (ulong)length * 0x9E3779B97F4A7C15UL;
        var i = 0;
        for (; length - i >= 8; i += 8)
        {
            h = (h ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref start, i))) * 0xFF51AFD7ED558CCDUL;
            h ^= h >> 32;
        }

        if (i < length)
        {
            ulong tail = 0;
            for (var shift = 0; i < length; i++, shift += 8)
            {
                tail |= (ulong)Unsafe.Add(ref start, i) << shift;
            }

            h = (h ^ tail) * 0xC4CEB9FE1A85EC53UL;
        }

        h ^= h >> 29;
        h *= 0xFF51AFD7ED558CCDUL;
        return (uint)(h ^ (h >> 32));
    }

    /// <summary>Reads a gzip-compressed <c>.tiktoken</c> file: one "base64 rank" line per token, ranks 0..n-1 in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Vocabulary Load(Stream gzipped, IReadOnlyDictionary<string, int> specialTokens)
    {
        using var inflated = new MemoryStream();
        using (var gzip = new GZipStream(gzipped, CompressionMode.Decompress))
        {
            gzip.CopyTo(inflated);
        }

        var text = inflated.GetBuffer().AsSpan(0, (int)inflated.Length);
        var blob = new byte[text.Length * 3 / 4];
        var offsets = new List<int>(capacity: 200_001) { 0 };
        var written = 0;
        while (!text.IsEmpty)
        {
            var newline = text.IndexOf((byte)'\n');
            var line = newline < 0 ? text : text[..newline];
            text = newline < 0 ? default : text[(newline + 1)..];
            if (line.IsEmpty)
            {
                continue;
            }

            var space = line.IndexOf((byte)' ');
            if (space <= 0
                || !Utf8Parser.TryParse(line[(space + 1)..], out int rank, out _)
                || rank != offsets.Count - 1
                || Base64.DecodeFromUtf8(line[..space], blob.AsSpan(written), out _, out var length) != System.Buffers.OperationStatus.Done)
            {
                throw new InvalidDataException($"Malformed vocabulary line for rank {offsets.Count - 1}.");
            }

            written += length;
            offsets.Add(written);
        }

        Array.Resize(ref blob, written);
        return new Vocabulary(blob, [.. offsets], specialTokens);
    }
}
