using System.Buffers.Binary;

namespace Ferry.Storage.Indexes;

/// <summary>
/// The sparse offset and time index of one segment, held in memory and written to its two files
/// (<c>.index</c>: relative offset int32, position int32; <c>.timeindex</c>: max timestamp before int64,
/// relative offset int32) when the segment is rolled or the log closes cleanly. Each file ends with the CRC-32C
/// (uint32) of its entries: a flipped bit that kept the entries ordered sent reads into the middle of a batch.
/// </summary>
/// <remarks>
/// One writer appends; readers search concurrently without locks. The writer publishes a grown array
/// before the count that reaches into it, and readers read the count before the array, so a reader never
/// indexes past the array it sees. The active segment's files are not kept current: after a crash the
/// tail segment is scanned anyway, and its index rebuilt from the scan.
/// </remarks>
public sealed class SegmentIndex
{
    public const int OffsetEntrySize = 8;
    public const int TimeEntrySize = 12;
    public const int ChecksumSize = 4;

    private IndexEntry[] _entries = new IndexEntry[16];
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public IndexEntry this[int i] => Volatile.Read(ref _entries)[i];

    public void Add(IndexEntry entry)
    {
        int count = _count;
        var entries = _entries;
        if (count == entries.Length)
        {
            var grown = new IndexEntry[entries.Length * 2];
            entries.CopyTo(grown, 0);
            Volatile.Write(ref _entries, grown);
            entries = grown;
        }
        entries[count] = entry;
        Volatile.Write(ref _count, count + 1);
    }

    /// <summary>Drops entries at or after <paramref name="position"/> (truncation).</summary>
    public void TruncateToPosition(int position)
    {
        int count = _count;
        while (count > 0 && _entries[count - 1].Position >= position) count--;
        Volatile.Write(ref _count, count);
    }

    public bool HasSentinel(long fileSize) => Count > 0 && this[Count - 1].Position == fileSize;

    /// <summary>The last entry whose relative offset is at or below <paramref name="relativeOffset"/>.</summary>
    public IndexEntry? FloorByOffset(int relativeOffset)
    {
        int count = Count;
        var entries = Volatile.Read(ref _entries);
        int lo = 0, hi = count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (entries[mid].RelativeOffset <= relativeOffset) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return found < 0 ? null : entries[found];
    }

    /// <summary>
    /// The last entry before which every batch is older than <paramref name="timestamp"/>: a scan for the
    /// first batch at or after the timestamp can start there.
    /// </summary>
    public IndexEntry? FloorByTimestamp(long timestamp)
    {
        int count = Count;
        var entries = Volatile.Read(ref _entries);
        int lo = 0, hi = count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (entries[mid].MaxTimestampBefore < timestamp) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return found < 0 ? null : entries[found];
    }

    public void WriteFiles(string offsetIndexPath, string timeIndexPath)
    {
        int count = Count;
        var offsets = new byte[count * OffsetEntrySize + ChecksumSize];
        var times = new byte[count * TimeEntrySize + ChecksumSize];
        for (int i = 0; i < count; i++)
        {
            var e = _entries[i];
            BinaryPrimitives.WriteInt32BigEndian(offsets.AsSpan(i * OffsetEntrySize), e.RelativeOffset);
            BinaryPrimitives.WriteInt32BigEndian(offsets.AsSpan(i * OffsetEntrySize + 4), e.Position);
            BinaryPrimitives.WriteInt64BigEndian(times.AsSpan(i * TimeEntrySize), e.MaxTimestampBefore);
            BinaryPrimitives.WriteInt32BigEndian(times.AsSpan(i * TimeEntrySize + 8), e.RelativeOffset);
        }
        SetChecksum(offsets);
        SetChecksum(times);
        WriteDurably(offsetIndexPath, offsets);
        WriteDurably(timeIndexPath, times);
    }

    private static void SetChecksum(byte[] file) =>
        BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(file.Length - ChecksumSize), Records.Crc32C.Compute(file.AsSpan(0, file.Length - ChecksumSize)));

    /// <summary>Whether <paramref name="file"/> is whole entries of <paramref name="entrySize"/> and a matching checksum (files without one, from before, are rebuilt).</summary>
    private static bool ChecksumMatches(byte[] file, int entrySize) =>
        file.Length >= ChecksumSize && (file.Length - ChecksumSize) % entrySize == 0
        && BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(file.Length - ChecksumSize)) == Records.Crc32C.Compute(file.AsSpan(0, file.Length - ChecksumSize));

    private static void WriteDurably(string path, byte[] bytes)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        file.Write(bytes);
        file.Flush(flushToDisk: true);
    }

    /// <summary>
    /// Loads both files and checks them against each other and the data file: same entry count, matching
    /// offsets, strictly increasing offsets and positions, positions inside the file. Returns null when
    /// anything is missing or inconsistent, so the caller rebuilds from the data.
    /// </summary>
    public static SegmentIndex? TryLoad(string offsetIndexPath, string timeIndexPath, long dataSize)
    {
        if (!File.Exists(offsetIndexPath) || !File.Exists(timeIndexPath)) return null;
        byte[] offsets, times;
        try
        {
            offsets = File.ReadAllBytes(offsetIndexPath);
            times = File.ReadAllBytes(timeIndexPath);
        }
        catch (IOException)
        {
            return null;
        }
        if (!ChecksumMatches(offsets, OffsetEntrySize) || !ChecksumMatches(times, TimeEntrySize)) return null;
        int count = offsets.Length / OffsetEntrySize;
        if (times.Length / TimeEntrySize != count) return null;
        if (count == 0) return dataSize == 0 ? new SegmentIndex() : null;

        var index = new SegmentIndex();
        IndexEntry previous = new(-1, -1, long.MinValue);
        for (int i = 0; i < count; i++)
        {
            int relativeOffset = BinaryPrimitives.ReadInt32BigEndian(offsets.AsSpan(i * OffsetEntrySize));
            int position = BinaryPrimitives.ReadInt32BigEndian(offsets.AsSpan(i * OffsetEntrySize + 4));
            long maxTimestampBefore = BinaryPrimitives.ReadInt64BigEndian(times.AsSpan(i * TimeEntrySize));
            int timeRelativeOffset = BinaryPrimitives.ReadInt32BigEndian(times.AsSpan(i * TimeEntrySize + 8));
            bool consistent = timeRelativeOffset == relativeOffset
                && relativeOffset > previous.RelativeOffset
                && position > previous.Position
                && position <= dataSize
                && maxTimestampBefore >= previous.MaxTimestampBefore;
            if (!consistent) return null;
            previous = new IndexEntry(relativeOffset, position, maxTimestampBefore);
            index.Add(previous);
        }
        return index[0].Position == 0 ? index : null;
    }
}
