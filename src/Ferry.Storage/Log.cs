using System.Buffers;
using System.Globalization;
using Ferry.Storage.Compaction;
using Ferry.Storage.Durability;
using Ferry.Storage.Indexes;
using Ferry.Storage.Records;
using Ferry.Storage.Recovery;
using Ferry.Storage.Retention;
using Ferry.Storage.Segments;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Storage;

/// <summary>
/// A segmented append-only log of RecordBatch v2 batches in one directory: the storage of a Kafka partition
/// and of an AMQP queue alike.
/// </summary>
/// <remarks>
/// One writer at a time (appends, rolls, retention and truncation hold <see cref="_writeLock"/>); readers
/// take a snapshot of the segment list and read published bytes without locks. Offsets are assigned here,
/// contiguous from the log start.
/// </remarks>
public sealed partial class Log : IAsyncDisposable
{
    private const string CleanShutdownMarker = ".clean-shutdown";

    /// <summary>
    /// The log start when it lies inside the first segment (DeleteRecords), as Kafka's log-start-offset
    /// checkpoint: the segment files alone would bring the deleted records back after a crash.
    /// </summary>
    private const string LogStartCheckpoint = "log-start-offset.checkpoint";

    /// <summary>Where the part of the log the cleaner has not yet cleaned begins (Kafka's cleaner-offset-checkpoint).</summary>
    private const string CleanerCheckpointFile = "cleaner-offset.checkpoint";

    private readonly Lock _writeLock = new();
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly GroupCommitter _committer;
    private volatile LogSegment[] _segments;
    private long _logStartOffset;
    private long _cleanerCheckpoint;
    private volatile bool _disposed;

    private Log(string directory, LogOptions options, LogSegment[] segments, long logStartOffset,
        LogRecoveryInfo recovery, TimeProvider time, ILogger logger)
    {
        Directory = directory;
        Options = options;
        _segments = segments;
        _logStartOffset = logStartOffset;
        Recovery = recovery;
        _time = time;
        _logger = logger;
        _committer = new GroupCommitter(LogEndOffset, () => LogEndOffset, FlushThrough);
        _cleanerCheckpoint = ReadCheckpoint(directory, CleanerCheckpointFile, logger);
    }

    /// <summary>
    /// What the cleaner may clean below (exclusive): set by the partition to its last stable offset, so that records
    /// consumers cannot see yet and open transactions stay as written. Null: the log end.
    /// </summary>
    public Func<long>? CleanableUpperBound { get; set; }

    internal LogSegment[] SegmentsSnapshot => _segments;

    /// <summary>The log's clock, ms since the epoch (what LogAppendTime and the timestamp checks use).</summary>
    public long NowMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    internal bool IsClosed => _disposed;

    /// <summary>The first offset the cleaner has not cleaned; written durably when a pass completes.</summary>
    internal long CleanerCheckpoint
    {
        get => Volatile.Read(ref _cleanerCheckpoint);
        set
        {
            Volatile.Write(ref _cleanerCheckpoint, value);
            AtomicFile.Write(Path.Combine(Directory, CleanerCheckpointFile), ChecksummedText.Format(value.ToString(CultureInfo.InvariantCulture)));
        }
    }

    public string Directory { get; }
    public LogOptions Options { get; private set; }

    /// <summary>How the last open went: whether the tail was scanned and what was cut.</summary>
    public LogRecoveryInfo Recovery { get; }

    /// <summary>The first offset still in the log.</summary>
    public long LogStartOffset => Volatile.Read(ref _logStartOffset);

    /// <summary>The offset the next append gets; everything below it is readable.</summary>
    public long LogEndOffset => _segments[^1].NextOffset;

    /// <summary>Every offset below this is on disk (fsync'd).</summary>
    public long DurableOffset => _committer.DurableOffset;

    /// <summary>Number of fsync rounds group commit has run, for tests and metrics.</summary>
    public long FsyncRounds => _committer.Rounds;

    public long SizeInBytes
    {
        get
        {
            long total = 0;
            foreach (var segment in _segments) total += segment.Size;
            return total;
        }
    }

    public int SegmentCount => _segments.Length;

    public IReadOnlyList<long> SegmentBaseOffsets => Array.ConvertAll(_segments, s => s.BaseOffset);

    /// <summary>Called after each append with the new log end offset; wakes waiting readers.</summary>
    public event Action<long>? Appended;

    public static Log Open(string directory, LogOptions? options = null, TimeProvider? time = null, ILogger? logger = null)
    {
        options ??= new LogOptions();
        time ??= TimeProvider.System;
        logger ??= NullLogger.Instance;
        FileSync.CreateDirectory(directory);
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        // A cleaning pass cut short by a crash: finish its committed swap, or drop its uncommitted files.
        CleanedSegmentSwap.Recover(directory);

        var marker = Path.Combine(directory, CleanShutdownMarker);
        var clean = CleanShutdown.TryRead(marker, logger);
        // The marker is consumed at once: if this run crashes, the next open must not trust it.
        File.Delete(marker);

        var baseOffsets = SegmentFileNames.ListBaseOffsets(directory);
        var segments = new List<LogSegment>();
        var recovery = new LogRecoveryInfo { CleanShutdown = clean is not null };
        if (baseOffsets.Count == 0)
        {
            long start = clean?.LogEndOffset ?? 0;
            segments.Add(LogSegment.Create(directory, start, options.IndexIntervalBytes, options.Files, now));
        }
        for (int i = 0; i < baseOffsets.Count; i++)
        {
            bool isTail = i == baseOffsets.Count - 1;
            long nextBase = isTail ? -1 : baseOffsets[i + 1];
            segments.Add(OpenSegment(directory, baseOffsets[i], nextBase, isTail, clean, options, recovery, now, logger));
        }
        long logStart = Math.Max(segments[0].BaseOffset, Math.Max(clean?.LogStartOffset ?? 0, ReadCheckpoint(directory, LogStartCheckpoint, logger)));
        logStart = Math.Min(logStart, segments[^1].NextOffset);
        // A crash between the checkpoint and the deletion of the segments it made obsolete: delete them now.
        while (segments.Count > 1 && segments[1].BaseOffset <= logStart)
        {
            segments[0].Retire(delete: true);
            segments.RemoveAt(0);
        }
        return new Log(directory, options, segments.ToArray(), logStart, recovery, time, logger);
    }

    private static LogSegment OpenSegment(string directory, long baseOffset, long nextBase, bool isTail,
        CleanShutdown? clean, LogOptions options, LogRecoveryInfo recovery, long now, ILogger logger)
    {
        string dataPath = SegmentFileNames.Data(directory, baseOffset);
        long fileSize = new FileInfo(dataPath).Length;

        // After a clean shutdown the tail's facts are in the marker and its index on disk: no scan.
        // A sealed (rolled) segment's index ends with a sentinel covering its file: no scan either.
        var index = SegmentIndex.TryLoad(SegmentFileNames.OffsetIndex(directory, baseOffset),
            SegmentFileNames.TimeIndex(directory, baseOffset), fileSize);
        if (isTail && clean is not null && index is not null && clean.ActiveSegmentSize == fileSize
            && clean.ActiveBaseOffset == baseOffset)
        {
            if (index.HasSentinel(fileSize)) index.TruncateToPosition((int)fileSize);
            return LogSegment.Open(directory, baseOffset, index, fileSize, clean.LogEndOffset, clean.MaxTimestamp,
                options.IndexIntervalBytes, options.Files, now);
        }
        if (!isTail && index is not null && index.HasSentinel(fileSize))
        {
            var sentinel = index[index.Count - 1];
            long next = baseOffset + sentinel.RelativeOffset;
            if (next == nextBase)
            {
                return LogSegment.Open(directory, baseOffset, index, fileSize, next, sentinel.MaxTimestampBefore,
                    options.IndexIntervalBytes, options.Files, now);
            }
        }

        // Otherwise scan: every batch's length and CRC checked, the index rebuilt, a bad tail cut off.
        var scan = SegmentScanner.Scan(dataPath, baseOffset, options.IndexIntervalBytes, options.MaxBatchBytes);
        recovery.ScannedSegments++;
        recovery.ScannedBatches += scan.BatchCount;
        if (index is null && !isTail) recovery.RebuiltIndexes++;
        if (scan.IsDamaged)
        {
            LogEvents.TruncatedDamagedTail(logger, dataPath, scan.ValidSize, scan.FileSize - scan.ValidSize, scan.StopReason ?? "");
            recovery.TruncatedBytes += scan.FileSize - scan.ValidSize;
            using (var file = File.OpenHandle(dataPath, FileMode.Open, FileAccess.ReadWrite))
            {
                RandomAccess.SetLength(file, scan.ValidSize);
                RandomAccess.FlushToDisk(file);
            }
        }
        long nextOffset = scan.NextOffset;
        // A cleaned segment may end in a gap (its last records compacted away): it reaches to the next one.
        if (!isTail && !scan.IsDamaged && nextOffset < nextBase) nextOffset = nextBase;
        if (!isTail)
        {
            scan.Index.Add(new IndexEntry((int)(nextOffset - baseOffset), (int)scan.ValidSize, scan.MaxTimestamp));
            scan.Index.WriteFiles(SegmentFileNames.OffsetIndex(directory, baseOffset), SegmentFileNames.TimeIndex(directory, baseOffset));
            scan.Index.TruncateToPosition((int)scan.ValidSize);
            if (scan.IsDamaged || nextOffset != nextBase)
                LogEvents.SegmentGap(logger, dataPath, nextOffset, nextBase);
        }
        return LogSegment.Open(directory, baseOffset, scan.Index, scan.ValidSize, nextOffset, scan.MaxTimestamp,
            options.IndexIntervalBytes, options.Files, now);
    }

    public void UpdateOptions(LogOptions options)
    {
        lock (_writeLock) Options = options;
    }

    /// <summary>
    /// Appends one or more whole batches: checks each (framing, CRC, size), assigns offsets from the log end,
    /// and writes them in one write. The bytes are rewritten in place (base offsets; LogAppendTime if set).
    /// Nothing is written unless every batch is valid. The data is in the page cache on return; call
    /// <see cref="WaitForDurableAsync"/> for disk.
    /// </summary>
    public AppendResult Append(Span<byte> batches) => Append(batches, assignOffsets: true);

    /// <summary>
    /// Appends a leader's batches as a follower copies them: offsets, epochs and times as the leader stored
    /// them. Each batch must start at or after the log end (<see cref="AppendError.NonContiguous"/> otherwise): a gap is
    /// what the leader's cleaner left, an overlap a divergence. Nothing is written unless every batch is valid.
    /// </summary>
    public AppendResult AppendReplicated(Span<byte> batches) => Append(batches, assignOffsets: false);

    private AppendResult Append(Span<byte> batches, bool assignOffsets)
    {
        if (batches.IsEmpty) return AppendResult.Failed(AppendError.InvalidInput);
        int count = 0;
        for (var rest = batches; !rest.IsEmpty; count++)
        {
            var check = RecordBatch.Check(rest, verifyCrc: true, Options.MaxBatchBytes);
            if (check != BatchCheck.Valid)
            {
                return AppendResult.Failed(check switch
                {
                    BatchCheck.TooLarge => AppendError.BatchTooLarge,
                    BatchCheck.Incomplete => AppendError.InvalidInput,
                    _ => AppendError.CorruptBatch,
                });
            }
            rest = rest[RecordBatch.TotalSize(rest)..];
        }

        long appendTime = -1;
        AppendResult result;
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            if (Options.UseLogAppendTime && assignOffsets) appendTime = now;
            long baseOffset = _segments[^1].NextOffset, next = baseOffset;
            for (var rest = batches; !rest.IsEmpty;)
            {
                int size = RecordBatch.TotalSize(rest);
                var batch = rest[..size];
                if (assignOffsets) RecordBatch.SetBaseOffset(batch, next);
                else if (RecordBatch.BaseOffset(batch) < next) return AppendResult.Failed(AppendError.NonContiguous);
                else next = RecordBatch.BaseOffset(batch);
                if (appendTime >= 0) RecordBatch.SetLogAppendTime(batch, appendTime);
                next += RecordBatch.LastOffsetDelta(batch) + 1;
                rest = rest[size..];
            }
            var active = RollIfNeeded(batches.Length, now);
            active.Append(batches, next);
            result = new AppendResult(AppendError.None, baseOffset, next - 1, appendTime, count);
        }
        Appended?.Invoke(result.LastOffset + 1);
        return result;
    }

    /// <summary>
    /// Completes once every offset below <paramref name="endOffset"/> is durable under this log's policy:
    /// fsync'd (shared with concurrent writers by group commit), or at once if the log does not fsync.
    /// </summary>
    public Task WaitForDurableAsync(long endOffset) =>
        Options.FsyncOnDurableWrite ? _committer.WaitAsync(endOffset) : Task.CompletedTask;

    /// <summary>fsyncs every segment that holds data at or past the durable offset, up to <paramref name="endOffset"/>.</summary>
    private void FlushThrough(long endOffset)
    {
        long durable = DurableOffset;
        foreach (var segment in _segments)
        {
            if (segment.NextOffset <= durable || segment.BaseOffset >= endOffset && segment.Size == 0) continue;
            if (!segment.TryAcquire()) continue;
            try { segment.Flush(); }
            finally { segment.Release(); }
        }
    }

    private LogSegment RollIfNeeded(int incomingBytes, long now)
    {
        var active = _segments[^1];
        bool full = active.Size > 0 && active.Size + incomingBytes > Options.SegmentBytes;
        // A compacted log rolls by max.compaction.lag.ms too: the active segment is never cleaned (Kafka's rule).
        long maxAge = Options.Compact ? Math.Min(Options.SegmentMs, Options.MaxCompactionLagMs) : Options.SegmentMs;
        bool old = active.Size > 0 && now - active.CreatedAtMs >= maxAge;
        return full || old ? Roll(now) : active;
    }

    private LogSegment Roll(long now)
    {
        var old = _segments[^1];
        old.Seal();
        var fresh = LogSegment.Create(Directory, old.NextOffset, Options.IndexIntervalBytes, Options.Files, now);
        _segments = [.. _segments, fresh];
        LogEvents.Rolled(_logger, Directory, fresh.BaseOffset);
        return fresh;
    }

    /// <summary>Starts a new segment now (tests and operators; retention of an expired active segment).</summary>
    public void Roll()
    {
        lock (_writeLock)
        {
            if (_segments[^1].Size > 0) Roll(_time.GetUtcNow().ToUnixTimeMilliseconds());
        }
    }

    /// <summary>
    /// Locates whole batches from the one holding <paramref name="offset"/>, up to <paramref name="maxBytes"/>
    /// (but always the first batch, so that a consumer can make progress, as Kafka's KIP-74 does).
    /// </summary>
    public LogReadResult Read(long offset, int maxBytes) => Read(offset, maxBytes, long.MaxValue);

    /// <summary>
    /// As <see cref="Read(long, int)"/>, but no batch at or past <paramref name="maxOffset"/> (exclusive) is
    /// returned: consumers read below the high watermark. The bound is a batch boundary (the high watermark is
    /// always one), so whole batches below it are returned. Without <paramref name="wholeFirstBatch"/> a first
    /// batch over <paramref name="maxBytes"/> makes an empty read (KIP-74: only a fetch's first partition may exceed).
    /// </summary>
    public LogReadResult Read(long offset, int maxBytes, long maxOffset, bool wholeFirstBatch = true)
    {
        long logStart = LogStartOffset;
        var segments = _segments;
        long logEnd = segments[^1].NextOffset;
        if (offset < logStart || offset > logEnd) return new LogReadResult(LogReadStatus.OffsetOutOfRange, LogSlice.Empty, logStart, logEnd);
        if (offset == logEnd || offset >= maxOffset) return new LogReadResult(LogReadStatus.Ok, LogSlice.Empty, logStart, logEnd);

        for (int i = FindSegmentIndex(segments, offset); i < segments.Length; i++)
        {
            var segment = segments[i];
            if (!segment.TryAcquire()) continue; // retired under us; the next one holds later offsets
            long position = segment.FindBatchPosition(offset, out int firstBatchSize, out long lastOffset);
            if (position < 0)
            {
                segment.Release();
                continue;
            }
            if (!wholeFirstBatch && firstBatchSize > maxBytes)
            {
                segment.Release();
                return new LogReadResult(LogReadStatus.Ok, LogSlice.Empty, logStart, logEnd);
            }
            long available = segment.Size - position;
            int length = (int)Math.Min(available, Math.Max(maxBytes, firstBatchSize));
            if (length > firstBatchSize && lastOffset + 1 < maxOffset)
                length = WholeBatchesWithin(segment, position, length, firstBatchSize, maxOffset, ref lastOffset);
            else length = Math.Min(length, firstBatchSize);
            return new LogReadResult(LogReadStatus.Ok, new LogSlice(segment, position, length, lastOffset + 1), logStart, logEnd);
        }
        return new LogReadResult(LogReadStatus.Ok, LogSlice.Empty, logStart, logEnd);
    }

    /// <summary>
    /// Hands every whole batch from the one holding <paramref name="fromOffset"/> to the log end to
    /// <paramref name="action"/>, in order: how state kept in a log (committed offsets, queue contents,
    /// producer sequences) is rebuilt at start. The span is valid only during the call.
    /// </summary>
    public void ForEachBatch(long fromOffset, BatchAction action)
    {
        long offset = Math.Max(fromOffset, LogStartOffset);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            while (offset < LogEndOffset)
            {
                var read = Read(offset, buffer.Length);
                using var slice = read.Slice;
                if (read.Status != LogReadStatus.Ok || slice.IsEmpty) return;
                if (slice.Length > buffer.Length)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(slice.Length);
                }
                slice.CopyTo(buffer);
                for (var rest = buffer.AsSpan(0, slice.Length); rest.Length >= RecordBatch.HeaderSize;)
                {
                    int size = RecordBatch.TotalSize(rest);
                    action(rest[..size]);
                    offset = RecordBatch.BaseOffset(rest) + RecordBatch.LastOffsetDelta(rest) + 1;
                    rest = rest[size..];
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Shrinks a byte range to the whole batches in it, reading only their headers, and tracks the last offset
    /// of the last batch kept.
    /// </summary>
    private static int WholeBatchesWithin(LogSegment segment, long position, int length, int firstBatchSize, long maxOffset, ref long lastOffset)
    {
        Span<byte> header = stackalloc byte[RecordBatch.LastOffsetDeltaOffset + 4];
        int whole = firstBatchSize;
        while (whole + header.Length <= length)
        {
            segment.Read(header, position + whole);
            int size = RecordBatch.TotalSize(header);
            if (whole + size > length || RecordBatch.BaseOffset(header) >= maxOffset) break;
            whole += size;
            lastOffset = RecordBatch.BaseOffset(header) + RecordBatch.LastOffsetDelta(header);
        }
        return whole;
    }

    private static int FindSegmentIndex(LogSegment[] segments, long offset)
    {
        int lo = 0, hi = segments.Length - 1, found = 0;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (segments[mid].BaseOffset <= offset) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return found;
    }

    /// <summary>The newest timestamp in the log (ListOffsets MAX_TIMESTAMP), or null when it holds no batch.</summary>
    public long? MaxTimestamp
    {
        get
        {
            long max = -1;
            foreach (var segment in _segments)
            {
                if (segment.Size > 0) max = Math.Max(max, segment.MaxTimestamp);
            }
            return max < 0 ? null : max;
        }
    }

    /// <summary>
    /// The offset of the first batch whose timestamp is at or after <paramref name="timestamp"/> (ListOffsets),
    /// or null when every batch is older.
    /// </summary>
    public long? FindOffsetByTimestamp(long timestamp)
    {
        long logStart = LogStartOffset;
        foreach (var segment in _segments)
        {
            if (segment.MaxTimestamp < timestamp) continue;
            if (!segment.TryAcquire()) continue;
            try
            {
                long offset = segment.FindOffsetByTimestamp(timestamp, out _);
                if (offset >= 0) return Math.Max(offset, logStart);
            }
            finally
            {
                segment.Release();
            }
        }
        return null;
    }

    /// <summary>
    /// Deletes whole segments past retention.ms (by their newest batch) or beyond retention.bytes (oldest
    /// first), never the active one, and moves the log start. Returns the number deleted.
    /// </summary>
    public int ApplyRetention()
    {
        lock (_writeLock)
        {
            if (_disposed) return 0;
            long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            int deletable = RetentionPolicy.CountDeletable(_segments, Options, now);
            if (deletable == 0) return 0;
            var doomed = _segments[..deletable];
            _segments = _segments[deletable..];
            Volatile.Write(ref _logStartOffset, Math.Max(LogStartOffset, _segments[0].BaseOffset));
            foreach (var segment in doomed) segment.Retire(delete: true);
            LogEvents.RetentionDeleted(_logger, Directory, deletable, LogStartOffset);
            return deletable;
        }
    }

    /// <summary>
    /// Moves the log start forward (Kafka's DeleteRecords); whole segments below it are deleted. A start inside
    /// a segment is checkpointed (fsync'd) before this returns, so it survives a crash.
    /// </summary>
    public void AdvanceLogStart(long offset)
    {
        lock (_writeLock)
        {
            offset = Math.Min(offset, LogEndOffset);
            if (offset <= LogStartOffset) return;
            int doomed = 0;
            while (doomed < _segments.Length - 1 && _segments[doomed + 1].BaseOffset <= offset) doomed++;
            // Once the doomed segments are gone the first one left starts at or below the new start; only a
            // start above it needs the checkpoint (retention and compaction move the start to a segment base).
            if (offset > _segments[doomed].BaseOffset) WriteLogStartCheckpoint(offset);
            Volatile.Write(ref _logStartOffset, offset);
            if (doomed == 0) return;
            var gone = _segments[..doomed];
            _segments = _segments[doomed..];
            foreach (var segment in gone) segment.Retire(delete: true);
        }
    }

    /// <summary>
    /// Removes every batch holding offsets at or after <paramref name="offset"/> (a batch that straddles it
    /// goes whole), as a follower does to match its leader. Below the log start, the log is emptied and
    /// restarts at <paramref name="offset"/>.
    /// </summary>
    public void TruncateTo(long offset)
    {
        lock (_writeLock)
        {
            if (offset >= LogEndOffset) return;
            long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            if (offset <= _segments[0].BaseOffset)
            {
                foreach (var segment in _segments) segment.Retire(delete: true);
                _segments = [LogSegment.Create(Directory, offset, Options.IndexIntervalBytes, Options.Files, now)];
                if (offset < LogStartOffset && File.Exists(Path.Combine(Directory, LogStartCheckpoint))) WriteLogStartCheckpoint(offset);
                Volatile.Write(ref _logStartOffset, offset);
                _committer.LowerDurableOffset(offset);
                if (CleanerCheckpoint > offset) CleanerCheckpoint = offset;
                return;
            }
            int keep = FindSegmentIndex(_segments, offset);
            var kept = _segments[..(keep + 1)];
            var dropped = _segments[(keep + 1)..];
            var target = kept[^1];
            long position = target.FindBatchPosition(offset, out _);
            if (position >= 0)
            {
                long newEnd = target.ReadBaseOffsetAt(position);
                target.TruncateTo(position, newEnd, MaxTimestampBefore(target, position));
            }
            _segments = kept;
            foreach (var segment in dropped) segment.Retire(delete: true);
            if (CleanerCheckpoint > LogEndOffset) CleanerCheckpoint = LogEndOffset;
            Volatile.Write(ref _logStartOffset, Math.Min(LogStartOffset, LogEndOffset));
            _committer.LowerDurableOffset(LogEndOffset);
            target.Flush();
        }
    }

    /// <summary>
    /// Empties the log and restarts it at <paramref name="offset"/>, which may lie past the log end: a follower
    /// whose whole log is older than its leader's log start.
    /// </summary>
    public void TruncateFullyAndStartAt(long offset)
    {
        lock (_writeLock)
        {
            long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var segment in _segments) segment.Retire(delete: true);
            _segments = [LogSegment.Create(Directory, offset, Options.IndexIntervalBytes, Options.Files, now)];
            Volatile.Write(ref _logStartOffset, offset);
            _committer.Reset(offset);
            if (CleanerCheckpoint != offset) CleanerCheckpoint = offset;
        }
    }

    private static long MaxTimestampBefore(LogSegment segment, long position)
    {
        long max = -1, p = 0;
        Span<byte> header = stackalloc byte[RecordBatch.MaxTimestampOffset + 8];
        while (p < position)
        {
            segment.Read(header, p);
            max = Math.Max(max, RecordBatch.MaxTimestamp(header));
            p += RecordBatch.TotalSize(header);
        }
        return max;
    }

    /// <summary>Flushes everything to disk now.</summary>
    public void Flush()
    {
        lock (_writeLock)
        {
            foreach (var segment in _segments) segment.Flush();
            _committer.Reset(LogEndOffset);
        }
    }

    /// <summary>
    /// Clean close: fsync data, write the indexes, then the clean-shutdown marker that lets the next open skip
    /// the scan.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        lock (_writeLock)
        {
            if (_disposed) return ValueTask.CompletedTask;
            _disposed = true;
        }
        var active = _segments[^1];
        foreach (var segment in _segments) segment.Flush();
        _committer.Reset(LogEndOffset);
        active.Index.WriteFiles(active.OffsetIndexPath, active.TimeIndexPath);
        CleanShutdown.Write(Path.Combine(Directory, CleanShutdownMarker), new CleanShutdown(
            active.BaseOffset, active.Size, active.NextOffset, active.MaxTimestamp, LogStartOffset));
        foreach (var segment in _segments) segment.Retire(delete: false);
        return ValueTask.CompletedTask;
    }

    /// <summary>Deletes the log and its directory (topic deletion). Readers holding slices finish first.</summary>
    public ValueTask DeleteAsync()
    {
        lock (_writeLock)
        {
            if (_disposed) return ValueTask.CompletedTask;
            _disposed = true;
        }
        _committer.Reset(LogEndOffset);
        foreach (var segment in _segments) segment.Retire(delete: true);
        try
        {
            File.Delete(Path.Combine(Directory, CleanShutdownMarker));
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A reader still holds a file; the directory goes when the node restarts.
        }
        return ValueTask.CompletedTask;
    }

    private void WriteLogStartCheckpoint(long offset) =>
        AtomicFile.Write(Path.Combine(Directory, LogStartCheckpoint), ChecksummedText.Format(offset.ToString(CultureInfo.InvariantCulture)));

    /// <summary>
    /// Puts a cleaned segment in the place of <paramref name="sources"/> (consecutive closed segments), under the
    /// write lock and crash-safely (<see cref="CleanedSegmentSwap"/>). False, and the cleaned files deleted, when the
    /// log changed since the pass read them (retention, truncation, close): the pass is simply lost.
    /// </summary>
    internal bool ReplaceWithCleaned(LogSegment[] sources, SegmentIndex index, long size, long nextOffset, long maxTimestamp)
    {
        lock (_writeLock)
        {
            int at = Array.IndexOf(_segments, sources[0]);
            bool intact = !_disposed && at >= 0 && at + sources.Length < _segments.Length;
            for (int i = 1; intact && i < sources.Length; i++) intact = ReferenceEquals(_segments[at + i], sources[i]);
            long baseOffset = sources[0].BaseOffset;
            if (!intact)
            {
                File.Delete(CleanedSegmentSwap.Cleaned(SegmentFileNames.Data(Directory, baseOffset)));
                File.Delete(CleanedSegmentSwap.Cleaned(SegmentFileNames.OffsetIndex(Directory, baseOffset)));
                File.Delete(CleanedSegmentSwap.Cleaned(SegmentFileNames.TimeIndex(Directory, baseOffset)));
                return false;
            }
            foreach (var source in sources) source.KeepFileOpen(); // readers finish on them once the names are swapped
            CleanedSegmentSwap.Commit(Directory, Array.ConvertAll(sources, s => s.BaseOffset));
            var cleaned = LogSegment.Open(Directory, baseOffset, index, size, nextOffset, maxTimestamp, Options.IndexIntervalBytes, Options.Files, sources[^1].CreatedAtMs);
            _segments = [.. _segments[..at], cleaned, .. _segments[(at + sources.Length)..]];
            // Their files are gone or replaced already; readers holding them finish on the open handles.
            foreach (var source in sources) source.Retire(delete: false);
            return true;
        }
    }

    /// <summary>
    /// A checkpointed offset, or 0 when there is none or it cannot be believed (the segments then decide: the log
    /// starts at its first segment, the cleaner from the start, and nothing is deleted for it).
    /// </summary>
    private static long ReadCheckpoint(string directory, string name, ILogger logger)
    {
        var path = Path.Combine(directory, name);
        try
        {
            switch (ChecksummedText.Read(path, out string text))
            {
                case ChecksummedRead.Valid:
                // Unchecked: written before checkpoints had checksums. A damaged checksummed file that lost its tag
                // to truncation reads as a prefix of its number, which is lower: it can make the log keep more, never
                // delete more.
                case ChecksummedRead.Unchecked:
                    if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long offset)) return offset;
                    LogEvents.DamagedFileIgnored(logger, path, "not an offset");
                    return 0;
                case ChecksummedRead.Damaged:
                    LogEvents.DamagedFileIgnored(logger, path, "checksum mismatch");
                    return 0;
                default:
                    return 0;
            }
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private sealed record CleanShutdown(long ActiveBaseOffset, long ActiveSegmentSize, long LogEndOffset, long MaxTimestamp, long LogStartOffset)
    {
        public static CleanShutdown? TryRead(string path, ILogger logger)
        {
            try
            {
                var read = ChecksummedText.Read(path, out string text);
                if (read == ChecksummedRead.Missing) return null;
                // Without a valid checksum (damaged, or written before markers had one) the marker is not believed:
                // the tail is scanned, which costs time only.
                if (read == ChecksummedRead.Damaged) LogEvents.DamagedFileIgnored(logger, path, "checksum mismatch");
                if (read != ChecksummedRead.Valid) return null;
                var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length != 5) return null;
                var values = Array.ConvertAll(parts, p => long.Parse(p, CultureInfo.InvariantCulture));
                return new CleanShutdown(values[0], values[1], values[2], values[3], values[4]);
            }
            catch (Exception ex) when (ex is IOException or FormatException or OverflowException)
            {
                return null;
            }
        }

        public static void Write(string path, CleanShutdown marker)
        {
            using var file = new FileStream(path, FileMode.Create, FileAccess.Write);
            file.Write(ChecksummedText.Format(string.Create(CultureInfo.InvariantCulture,
                $"{marker.ActiveBaseOffset} {marker.ActiveSegmentSize} {marker.LogEndOffset} {marker.MaxTimestamp} {marker.LogStartOffset}")));
            file.Flush(flushToDisk: true);
        }
    }

    private static partial class LogEvents
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Log segment {Path} was damaged: kept {ValidBytes} bytes, truncated {CutBytes} ({Reason})")]
        public static partial void TruncatedDamagedTail(ILogger logger, string path, long validBytes, long cutBytes, string reason);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Log segment {Path} ends at offset {NextOffset} but the next segment starts at {NextBase}")]
        public static partial void SegmentGap(ILogger logger, string path, long nextOffset, long nextBase);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "Log {Directory} rolled a new segment at offset {BaseOffset}")]
        public static partial void Rolled(ILogger logger, string directory, long baseOffset);

        [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "{Path} is damaged ({Reason}) and is ignored; the log is recovered from its segments")]
        public static partial void DamagedFileIgnored(ILogger logger, string path, string reason);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Log {Directory} retention deleted {Count} segments; log start is now {LogStart}")]
        public static partial void RetentionDeleted(ILogger logger, string directory, int count, long logStart);
    }
}
