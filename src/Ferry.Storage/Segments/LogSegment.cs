using System.Buffers.Binary;
using Ferry.Storage.Files;
using Ferry.Storage.Indexes;
using Ferry.Storage.Records;

namespace Ferry.Storage.Segments;

/// <summary>
/// One segment of a log: a data file of whole record batches and its sparse index.
/// </summary>
/// <remarks>
/// Concurrency: one writer (the log, under its append lock) appends; readers read without locks up to
/// <see cref="Size"/>, which the writer publishes only after the bytes of whole batches are written, so a
/// reader never sees part of a batch. Readers hold a reference (<see cref="TryAcquire"/>) so that
/// retention can retire a segment while it is being read: its file closes when the last reader lets go.
/// </remarks>
public sealed class LogSegment
{
    private readonly CachedFile _file;
    private readonly int _indexIntervalBytes;
    private long _size;
    private long _nextOffset;
    private long _maxTimestamp = -1;
    private int _bytesSinceIndexEntry;
    private int _references = 1;

    private LogSegment(string directory, long baseOffset, CachedFile file, long size, SegmentIndex index,
        int indexIntervalBytes, long createdAtMs)
    {
        Directory = directory;
        BaseOffset = baseOffset;
        _file = file;
        _size = size;
        _nextOffset = baseOffset;
        Index = index;
        _indexIntervalBytes = indexIntervalBytes;
        _bytesSinceIndexEntry = indexIntervalBytes;
        CreatedAtMs = createdAtMs;
    }

    public string Directory { get; }
    public long BaseOffset { get; }
    public SegmentIndex Index { get; }
    public long CreatedAtMs { get; }

    /// <summary>Bytes of whole batches in the file; what readers may read.</summary>
    public long Size => Volatile.Read(ref _size);

    /// <summary>The offset the next batch appended here would get.</summary>
    public long NextOffset => Volatile.Read(ref _nextOffset);

    /// <summary>The largest batch max timestamp in the segment, -1 if empty.</summary>
    public long MaxTimestamp => Volatile.Read(ref _maxTimestamp);

    public string DataPath => SegmentFileNames.Data(Directory, BaseOffset);
    public string OffsetIndexPath => SegmentFileNames.OffsetIndex(Directory, BaseOffset);
    public string TimeIndexPath => SegmentFileNames.TimeIndex(Directory, BaseOffset);

    public static LogSegment Create(string directory, long baseOffset, int indexIntervalBytes, FileHandleCache files, long nowMs)
    {
        var file = files.Open(SegmentFileNames.Data(directory, baseOffset), FileMode.CreateNew,
            FileAccess.ReadWrite, FileShare.Read);
        // The new file's name must be durable before an fsync of its data can promise anything.
        Durability.FileSync.SyncDirectory(directory);
        return new LogSegment(directory, baseOffset, file, 0, new SegmentIndex(), indexIntervalBytes, nowMs);
    }

    /// <summary>
    /// Opens an existing segment with a known-good index (loaded from its files, or rebuilt by
    /// <see cref="Recovery.SegmentScanner"/>) whose facts have been established by the caller.
    /// </summary>
    internal static LogSegment Open(string directory, long baseOffset, SegmentIndex index, long size,
        long nextOffset, long maxTimestamp, int indexIntervalBytes, FileHandleCache files, long nowMs)
    {
        var file = files.Open(SegmentFileNames.Data(directory, baseOffset), FileMode.Open,
            FileAccess.ReadWrite, FileShare.Read);
        var segment = new LogSegment(directory, baseOffset, file, size, index, indexIntervalBytes, nowMs)
        {
            _nextOffset = nextOffset,
            _maxTimestamp = maxTimestamp,
        };
        // A reopened segment continues its sparse index from its last entry.
        if (index.Count > 0) segment._bytesSinceIndexEntry = (int)Math.Min(int.MaxValue, size - index[index.Count - 1].Position);
        return segment;
    }

    /// <summary>
    /// Writes already-validated batches (offsets assigned) at the end of the file and publishes them.
    /// Only the log's single writer calls this.
    /// </summary>
    internal void Append(ReadOnlySpan<byte> batches, long nextOffset)
    {
        long position = _size;
        using (var file = _file.Use())
        {
            try
            {
                RandomAccess.Write(file.Handle, batches, position);
            }
            catch (IOException)
            {
                // Disk full (ENOSPC) or an I/O error: part of the batches may be in the file. Cut it back so that nothing
                // past the last whole append is ever read (a clean restart trusts the file's length), and leave the
                // index and the segment's size as they were; the caller refuses the append.
                try { RandomAccess.SetLength(file.Handle, position); }
                catch (IOException) { }
                throw;
            }
        }

        for (var rest = batches; !rest.IsEmpty;)
        {
            int batchSize = RecordBatch.TotalSize(rest);
            if (_bytesSinceIndexEntry >= _indexIntervalBytes)
            {
                Index.Add(new IndexEntry(RelativeOffset(RecordBatch.BaseOffset(rest)),
                    checked((int)(position + (batches.Length - rest.Length))), _maxTimestamp));
                _bytesSinceIndexEntry = 0;
            }
            _bytesSinceIndexEntry += batchSize;
            _maxTimestamp = Math.Max(_maxTimestamp, RecordBatch.MaxTimestamp(rest));
            rest = rest[batchSize..];
        }

        Volatile.Write(ref _nextOffset, nextOffset);
        Volatile.Write(ref _size, position + batches.Length);
    }

    internal int RelativeOffset(long offset) => checked((int)(offset - BaseOffset));

    /// <summary>
    /// Finds the file position of the batch that holds <paramref name="offset"/> (its last offset is at or
    /// after it), reading only batch headers from the nearest index point. -1 if no such batch.
    /// </summary>
    public long FindBatchPosition(long offset, out int batchSize) => FindBatchPosition(offset, out batchSize, out _);

    /// <inheritdoc cref="FindBatchPosition(long, out int)"/>
    public long FindBatchPosition(long offset, out int batchSize, out long lastOffset)
    {
        batchSize = 0;
        lastOffset = -1;
        long limit = Size;
        var entry = Index.FloorByOffset(RelativeOffset(Math.Max(offset, BaseOffset)));
        long position = entry?.Position ?? 0;
        Span<byte> header = stackalloc byte[RecordBatch.LastOffsetDeltaOffset + 4];
        using var file = _file.Use();
        while (position + header.Length <= limit)
        {
            RandomAccess.Read(file.Handle, header, position);
            long baseOffset = RecordBatch.BaseOffset(header);
            int size = RecordBatch.TotalSize(header);
            long last = baseOffset + RecordBatch.LastOffsetDelta(header);
            if (last >= offset)
            {
                batchSize = size;
                lastOffset = last;
                return position;
            }
            position += size;
        }
        return -1;
    }

    /// <summary>
    /// The base offset of the first batch whose max timestamp is at or after <paramref name="timestamp"/>, or
    /// -1 if the segment has none.
    /// </summary>
    public long FindOffsetByTimestamp(long timestamp, out long batchPosition)
    {
        batchPosition = -1;
        long limit = Size;
        var entry = Index.FloorByTimestamp(timestamp);
        long position = entry?.Position ?? 0;
        Span<byte> header = stackalloc byte[RecordBatch.MaxTimestampOffset + 8];
        using var file = _file.Use();
        while (position + header.Length <= limit)
        {
            RandomAccess.Read(file.Handle, header, position);
            if (RecordBatch.MaxTimestamp(header) >= timestamp)
            {
                batchPosition = position;
                return RecordBatch.BaseOffset(header);
            }
            position += RecordBatch.TotalSize(header);
        }
        return -1;
    }

    public int Read(Span<byte> destination, long position)
    {
        using var file = _file.Use();
        return RandomAccess.Read(file.Handle, destination, position);
    }

    public void Flush()
    {
        Durability.StorageFaults.BeforeSync(DataPath);
        using var file = _file.Use();
        Durability.FileSync.DataSync(file.Handle);
    }

    /// <summary>Whether the data file holds a descriptor now (the process-wide cache closes idle ones).</summary>
    internal bool IsFileOpen => _file.IsOpen;

    /// <summary>
    /// Syncs the data, then writes the sentinel (whole-file coverage) and the index files. Called on roll. The next
    /// unclean open trusts a sealed segment without scanning it, so the sentinel may reach the disk only after the
    /// bytes it vouches for: a power cut just after a roll would otherwise leave this segment's unsynced tail
    /// (torn or zeroed, at its full length) unchecked and served.
    /// </summary>
    internal void Seal()
    {
        Flush();
        long size = Size;
        if (!Index.HasSentinel(size) && size > 0)
            Index.Add(new IndexEntry(RelativeOffset(NextOffset), checked((int)size), MaxTimestamp));
        Index.WriteFiles(OffsetIndexPath, TimeIndexPath);
    }

    /// <summary>Cuts the file at <paramref name="position"/> (a batch boundary) and drops what followed.</summary>
    internal void TruncateTo(long position, long nextOffset, long maxTimestamp)
    {
        Index.TruncateToPosition((int)position);
        using (var file = _file.Use()) RandomAccess.SetLength(file.Handle, position);
        Volatile.Write(ref _size, position);
        Volatile.Write(ref _nextOffset, nextOffset);
        Volatile.Write(ref _maxTimestamp, maxTimestamp);
        _bytesSinceIndexEntry = Index.Count == 0 ? _indexIntervalBytes : (int)(position - Index[Index.Count - 1].Position);
        System.IO.File.Delete(OffsetIndexPath);
        System.IO.File.Delete(TimeIndexPath);
    }

    /// <summary>Takes a reader's reference; false if the segment is already retired and closed.</summary>
    public bool TryAcquire()
    {
        int current = Volatile.Read(ref _references);
        while (current > 0)
        {
            int seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current) return true;
            current = seen;
        }
        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0) Close();
    }

    /// <summary>
    /// Drops the log's own reference. Deleted files are unlinked at once, so a new segment may take the same
    /// name; readers that still hold the open handle keep reading it (POSIX semantics), and it closes when
    /// the last of them lets go.
    /// </summary>
    internal void Retire(bool delete)
    {
        // Readers may still hold this segment; once its name is gone (or names a cleaned replacement) a closed
        // descriptor could not be reopened by path, so the descriptor stays open until the last reader lets go.
        if (delete)
        {
            _file.KeepOpen();
            DeleteFiles();
        }
        Release();
    }

    /// <summary>The path is about to name another file (a cleaned segment swapped in): keep this one's descriptor.</summary>
    internal void KeepFileOpen() => _file.KeepOpen();

    private void Close() => _file.Dispose();

    private void DeleteFiles()
    {
        System.IO.File.Delete(DataPath);
        System.IO.File.Delete(OffsetIndexPath);
        System.IO.File.Delete(TimeIndexPath);
    }

    /// <summary>The base offset recorded in the header at <paramref name="position"/>.</summary>
    internal long ReadBaseOffsetAt(long position)
    {
        Span<byte> header = stackalloc byte[8];
        using (var file = _file.Use()) RandomAccess.Read(file.Handle, header, position);
        return BinaryPrimitives.ReadInt64BigEndian(header);
    }
}
