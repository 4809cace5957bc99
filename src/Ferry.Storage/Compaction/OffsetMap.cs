using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Ferry.Storage.Compaction;

/// <summary>
/// The cleaner's map from key to the latest offset of that key in the dirty part of a log, in a fixed amount of
/// memory (Kafka's <c>SkimpyOffsetMap</c>): a key is stored as 16 bytes of its SHA-256 (Kafka uses MD5; SHA-256 has hardware support here and no broken-algorithm warning), so a slot costs 24 bytes whatever
/// the key's size, in an open-addressing table probed linearly. Two keys with the same 16 bytes would be taken for one;
/// at 2^-128 per pair that is accepted, as Kafka accepts it.
/// </summary>
/// <remarks>Used by one cleaner thread at a time; not thread-safe.</remarks>
internal sealed class OffsetMap
{
    private const int SlotBytes = 24;

    /// <summary>A table fuller than this probes too long; the cleaner stops mapping at a segment boundary before it.</summary>
    private const double MaxLoadFactor = 0.9;

    private readonly long[] _hashHigh;
    private readonly long[] _hashLow;
    private readonly long[] _offsets;

    public OffsetMap(long memoryBytes)
    {
        int slots = (int)Math.Clamp(memoryBytes / SlotBytes, 16, Array.MaxLength);
        _hashHigh = new long[slots];
        _hashLow = new long[slots];
        _offsets = new long[slots];
        Clear();
    }

    public int Count { get; private set; }

    public int Capacity => _offsets.Length;

    /// <summary>Whether <paramref name="more"/> further keys still fit under the load factor.</summary>
    public bool HasRoomFor(long more) => Count + more <= (long)(Capacity * MaxLoadFactor);

    /// <summary>The largest offset put into the map, -1 when empty.</summary>
    public long LatestOffset { get; private set; } = -1;

    public void Clear()
    {
        Array.Fill(_offsets, -1L);
        Count = 0;
        LatestOffset = -1;
    }

    /// <summary>Records <paramref name="offset"/> as the latest for <paramref name="key"/> (offsets come in ascending order).</summary>
    public void Put(ReadOnlySpan<byte> key, long offset)
    {
        Hash(key, out long high, out long low);
        int slot = Find(high, low);
        if (_offsets[slot] < 0)
        {
            if (Count >= Capacity - 1) throw new InvalidOperationException("The offset map is full.");
            _hashHigh[slot] = high;
            _hashLow[slot] = low;
            Count++;
        }
        _offsets[slot] = offset;
        LatestOffset = Math.Max(LatestOffset, offset);
    }

    /// <summary>The latest offset recorded for <paramref name="key"/>, or -1.</summary>
    public long Get(ReadOnlySpan<byte> key)
    {
        Hash(key, out long high, out long low);
        return _offsets[Find(high, low)];
    }

    private int Find(long high, long low)
    {
        int slot = (int)((ulong)low % (ulong)_offsets.Length);
        while (_offsets[slot] >= 0 && (_hashHigh[slot] != high || _hashLow[slot] != low))
        {
            slot++;
            if (slot == _offsets.Length) slot = 0;
        }
        return slot;
    }

    private static void Hash(ReadOnlySpan<byte> key, out long high, out long low)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(key, digest);
        high = BinaryPrimitives.ReadInt64LittleEndian(digest);
        low = BinaryPrimitives.ReadInt64LittleEndian(digest[8..]);
    }
}
