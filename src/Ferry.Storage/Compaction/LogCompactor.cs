using System.Buffers;
using System.Buffers.Binary;
using Ferry.Storage.Durability;
using Ferry.Storage.Indexes;
using Ferry.Storage.Records;
using Ferry.Storage.Segments;

namespace Ferry.Storage.Compaction;

/// <summary>
/// One cleaning pass over one compacted log, as Kafka's <c>Cleaner.doClean</c>: map every key of the dirty part
/// (from the cleaner checkpoint to the first uncleanable segment) to its latest offset, then rewrite the log from
/// its start to that bound keeping, of each key, only records at or after the mapped offset. Offsets are never
/// changed: a batch keeps its base offset and last offset delta, records their offset deltas (gaps are allowed).
/// </summary>
/// <remarks>
/// <para>Uncleanable: the active segment, a segment holding a record younger than min.compaction.lag.ms, anything at
/// or past the log's upper bound (its last stable offset: consumers' view and open transactions), and a transaction
/// still open at the bound (the bound moves back to the segment where it began).</para>
/// <para>Transactions (Kafka's CleanedTransactionMetadata): data of aborted transactions is removed; a control batch
/// (commit or abort marker) is kept while any batch of its transaction is still in the log, and afterwards until it
/// is delete.retention.ms old. Tombstones (null values) stay until they are delete.retention.ms old. Each producer's
/// last batch is kept, emptied of records if need be, so that idempotent-producer state rebuilt from the log still
/// knows its last sequence. Keyless records, which a compacted topic refuses, are removed.</para>
/// <para>Compressed batches are decompressed, filtered and recompressed with the batch's own codec; a batch that
/// loses nothing is copied as stored. Segments are cleaned in groups up to segment.bytes into one new segment each,
/// with a fresh index, swapped in under the log's lock (<see cref="CleanedSegmentSwap"/>).</para>
/// </remarks>
internal sealed class LogCompactor(OffsetMap map, Throttler throttler)
{
    /// <summary>Stops a pass at the next chunk (shutdown); its files are left for the next open to delete.</summary>
    public CancellationToken Cancellation { get; set; }

    public long BytesRead { get; private set; }
    public long BytesWritten { get; private set; }

    /// <summary>What a log would clean now: its segments up to (not including) <see cref="EndIndex"/>, and how dirty it is.</summary>
    public readonly record struct Cleanable(int FirstDirtyIndex, int EndIndex, long CleanBytes, long DirtyBytes, bool PastMaxLag)
    {
        public double DirtyRatio => CleanBytes + DirtyBytes == 0 ? 0 : (double)DirtyBytes / (CleanBytes + DirtyBytes);
    }

    /// <summary>The cleanable range of <paramref name="segments"/>, without opening any batch but the first dirty one's header.</summary>
    public static Cleanable Measure(Log log, LogSegment[] segments, long nowMs)
    {
        var options = log.Options;
        long upperBound = log.CleanableUpperBound?.Invoke() ?? long.MaxValue;
        int end = 0;
        while (end < segments.Length - 1)
        {
            var segment = segments[end];
            if (segment.NextOffset > upperBound) break;
            if (segment.MaxTimestamp >= 0 && nowMs - segment.MaxTimestamp < options.MinCompactionLagMs) break;
            end++;
        }
        long checkpoint = log.CleanerCheckpoint;
        int firstDirty = 0;
        while (firstDirty < end && segments[firstDirty].NextOffset <= checkpoint) firstDirty++;
        long clean = 0, dirty = 0;
        for (int i = 0; i < end; i++)
        {
            if (i < firstDirty) clean += segments[i].Size;
            else dirty += segments[i].Size;
        }
        bool pastMaxLag = firstDirty < end && options.MaxCompactionLagMs < long.MaxValue
            && FirstTimestamp(segments[firstDirty]) is var first && first >= 0 && nowMs - first > options.MaxCompactionLagMs;
        return new Cleanable(firstDirty, end, clean, dirty, pastMaxLag);
    }

    private static long FirstTimestamp(LogSegment segment)
    {
        if (segment.Size < RecordBatch.HeaderSize || !segment.TryAcquire()) return -1;
        try
        {
            Span<byte> header = stackalloc byte[RecordBatch.HeaderSize];
            segment.Read(header, 0);
            return RecordBatch.BaseTimestamp(header);
        }
        finally
        {
            segment.Release();
        }
    }

    /// <summary>Cleans <paramref name="log"/> once; false when there was nothing to do or the log changed under the pass.</summary>
    public bool Clean(Log log, long nowMs)
    {
        var segments = log.SegmentsSnapshot;
        var cleanable = Measure(log, segments, nowMs);
        int end = cleanable.EndIndex;
        if (end == 0 || cleanable.FirstDirtyIndex >= end) return false;

        var txns = TransactionScan.Run(segments, ref end, nowMs - log.Options.DeleteRetentionMs);
        if (cleanable.FirstDirtyIndex >= end) return false;

        map.Clear();
        int mappedEnd = cleanable.FirstDirtyIndex;
        while (mappedEnd < end && MapSegment(segments[mappedEnd], txns)) mappedEnd++;
        if (mappedEnd == cleanable.FirstDirtyIndex) throw new InvalidOperationException(
            $"The cleaner's offset map ({map.Capacity} keys) cannot hold one segment of {log.Directory}; raise Storage:CleanerDedupeBufferBytes.");
        end = mappedEnd;

        var options = log.Options;
        var context = new CleanContext(map, txns, nowMs - options.DeleteRetentionMs, options.UseLogAppendTime);
        int start = 0;
        while (start < end)
        {
            int stop = start + 1;
            long size = segments[start].Size;
            while (stop < end && size + segments[stop].Size <= options.SegmentBytes
                && segments[stop].NextOffset - segments[start].BaseOffset < int.MaxValue)
            {
                size += segments[stop].Size;
                stop++;
            }
            if (!CleanGroup(log, segments[start..stop], context, options.IndexIntervalBytes)) return false;
            start = stop;
        }
        log.CleanerCheckpoint = segments[end].BaseOffset;
        return true;
    }

    /// <summary>Maps the keys of one dirty segment; false (the segment left out) if they might not all fit.</summary>
    private bool MapSegment(LogSegment segment, TransactionScan txns)
    {
        // A record holds at least 7 bytes: a segment this size cannot have more distinct keys than size / 7.
        if (!map.HasRoomFor(Math.Min(segment.Size / 7, int.MaxValue)) && map.Count > 0 && !map.HasRoomFor(segment.Size / 64)) return false;
        bool fits = true;
        ForEachBatch(segment, batch =>
        {
            if (!fits || RecordBatch.IsControl(batch) || txns.IsAborted(batch)) return;
            var records = Open(batch);
            var reader = new RecordReader(records);
            while (reader.TryRead(out var record))
            {
                if (record.KeyIsNull) continue;
                if (!map.HasRoomFor(1))
                {
                    fits = false;
                    return;
                }
                map.Put(record.Key, record.Offset);
            }
        });
        return fits;
    }

    private bool CleanGroup(Log log, LogSegment[] sources, CleanContext context, int indexIntervalBytes)
    {
        long baseOffset = sources[0].BaseOffset;
        long nextOffset = sources[^1].NextOffset;
        long maxTimestamp = sources.Max(s => s.MaxTimestamp);
        string directory = log.Directory;
        string dataPath = CleanedSegmentSwap.Cleaned(SegmentFileNames.Data(directory, baseOffset));
        var index = new SegmentIndex();
        long position = 0, maxBefore = -1;
        int sinceEntry = indexIntervalBytes;
        using (var output = File.OpenHandle(dataPath, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            foreach (var source in sources)
            {
                ForEachBatch(source, batch =>
                {
                    var kept = context.Filter(batch);
                    if (kept.IsEmpty) return;
                    if (sinceEntry >= indexIntervalBytes)
                    {
                        index.Add(new IndexEntry((int)(RecordBatch.BaseOffset(kept) - baseOffset), checked((int)position), maxBefore));
                        sinceEntry = 0;
                    }
                    RandomAccess.Write(output, kept, position);
                    throttler.Acquire(kept.Length);
                    BytesWritten += kept.Length;
                    position += kept.Length;
                    sinceEntry += kept.Length;
                    maxBefore = Math.Max(maxBefore, RecordBatch.MaxTimestamp(kept));
                });
            }
            FileSync.DataSync(output);
        }
        // The sentinel keeps the group's whole offset range, so the next segment still starts where this one ends
        // even when the last records were cleaned away; the sources' newest timestamp keeps retention by time as it was.
        index.Add(new IndexEntry((int)(nextOffset - baseOffset), checked((int)position), maxTimestamp));
        index.WriteFiles(CleanedSegmentSwap.Cleaned(SegmentFileNames.OffsetIndex(directory, baseOffset)),
            CleanedSegmentSwap.Cleaned(SegmentFileNames.TimeIndex(directory, baseOffset)));
        return log.ReplaceWithCleaned(sources, index, position, nextOffset, maxTimestamp);
    }

    /// <summary>The batch's records uncompressed (the batch itself when it is not compressed).</summary>
    private static ReadOnlySpan<byte> Open(ReadOnlySpan<byte> batch) =>
        RecordBatch.CompressionCodec(batch) == RecordBatchCompression.None ? batch : RecordBatchCompression.Decompress(batch);

    /// <summary>Hands every whole batch of a segment to <paramref name="action"/>, reading it in throttled chunks.</summary>
    private void ForEachBatch(LogSegment segment, BatchAction action)
    {
        if (!segment.TryAcquire()) throw new SegmentRetiredException();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long size = segment.Size, position = 0;
            while (position + RecordBatch.LogOverhead <= size)
            {
                Cancellation.ThrowIfCancellationRequested();
                int read = segment.Read(buffer.AsSpan(0, (int)Math.Min(buffer.Length, size - position)), position);
                throttler.Acquire(read);
                BytesRead += read;
                var rest = buffer.AsSpan(0, read);
                int consumed = 0;
                while (rest.Length >= RecordBatch.LogOverhead && RecordBatch.TotalSize(rest) <= rest.Length)
                {
                    int batchSize = RecordBatch.TotalSize(rest);
                    action(rest[..batchSize]);
                    consumed += batchSize;
                    rest = rest[batchSize..];
                }
                if (consumed == 0)
                {
                    // One batch larger than the buffer: grow to hold it.
                    int needed = RecordBatch.TotalSize(buffer);
                    if (needed <= 0 || position + needed > size) break;
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent(needed);
                    continue;
                }
                position += consumed;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            segment.Release();
        }
    }

    /// <summary>The record-by-record decision of one pass.</summary>
    private sealed class CleanContext(OffsetMap map, TransactionScan txns, long deleteHorizonMs, bool logAppendTime)
    {
        private readonly ArrayBufferWriter<byte> _records = new();
        private byte[] _output = new byte[64 * 1024];

        /// <summary>What of <paramref name="batch"/> stays: the batch as stored, a rewritten one, or nothing (empty).</summary>
        public ReadOnlySpan<byte> Filter(ReadOnlySpan<byte> batch)
        {
            if (RecordBatch.IsControl(batch)) return txns.IsRemovableMarker(batch) ? default : batch;
            int codec = RecordBatch.CompressionCodec(batch);
            bool lastOfProducer = txns.IsLastBatchOfProducer(batch);
            if (txns.IsAborted(batch)) return lastOfProducer ? Empty(batch) : default;

            var records = Open(batch);
            _records.ResetWrittenCount();
            int kept = 0, total = 0;
            var reader = new RecordReader(records);
            int position = RecordBatch.HeaderSize;
            while (reader.TryRead(out var record))
            {
                var span = records[position..];
                Varint.TryReadInt(span, out int bodyLength, out int prefix);
                int recordSize = prefix + bodyLength;
                position += recordSize;
                total++;
                if (!Retain(record, RecordBatch.MaxTimestamp(batch))) continue;
                span[..recordSize].CopyTo(_records.GetSpan(recordSize));
                _records.Advance(recordSize);
                kept++;
            }
            if (kept == total) return batch;
            if (kept == 0) return lastOfProducer ? Empty(batch) : default;
            return Rewrite(records, kept, codec);
        }

        private bool Retain(Record record, long batchMaxTimestamp)
        {
            if (record.KeyIsNull) return false;
            long latest = map.Get(record.Key);
            if (latest > record.Offset) return false;
            if (record.ValueIsNull)
            {
                long timestamp = logAppendTime ? batchMaxTimestamp : record.Timestamp;
                if (timestamp < deleteHorizonMs) return false;
            }
            return true;
        }

        /// <summary>
        /// The same header (base offset, last offset delta, timestamps, producer and sequence) with only the kept
        /// records, byte for byte (their deltas stay valid against the unchanged base timestamp), compressed again
        /// with the batch's codec.
        /// </summary>
        private ReadOnlySpan<byte> Rewrite(ReadOnlySpan<byte> uncompressed, int count, int codec)
        {
            int size = RecordBatch.HeaderSize + _records.WrittenCount;
            var rewritten = Buffer(size);
            uncompressed[..RecordBatch.HeaderSize].CopyTo(rewritten);
            _records.WrittenSpan.CopyTo(rewritten[RecordBatch.HeaderSize..]);
            BinaryPrimitives.WriteInt32BigEndian(rewritten[RecordBatch.LengthOffset..], size - RecordBatch.LogOverhead);
            BinaryPrimitives.WriteInt32BigEndian(rewritten[RecordBatch.RecordCountOffset..], count);
            return Seal(rewritten, codec);
        }

        /// <summary>A producer's last batch with no records left: its header alone, as Kafka keeps it.</summary>
        private ReadOnlySpan<byte> Empty(ReadOnlySpan<byte> batch)
        {
            var empty = Buffer(RecordBatch.HeaderSize);
            batch[..RecordBatch.HeaderSize].CopyTo(empty);
            BinaryPrimitives.WriteInt32BigEndian(empty[RecordBatch.LengthOffset..], RecordBatch.HeaderSize - RecordBatch.LogOverhead);
            BinaryPrimitives.WriteInt32BigEndian(empty[RecordBatch.RecordCountOffset..], 0);
            short attributes = (short)(RecordBatch.Attributes(empty) & ~RecordBatch.CompressionCodecMask);
            BinaryPrimitives.WriteInt16BigEndian(empty[RecordBatch.AttributesOffset..], attributes);
            RecordBatch.WriteCrc(empty);
            return empty;
        }

        private static ReadOnlySpan<byte> Seal(Span<byte> batch, int codec)
        {
            if (codec == RecordBatchCompression.None)
            {
                RecordBatch.WriteCrc(batch);
                return batch;
            }
            return RecordBatchCompression.Compress(batch, codec);
        }

        private Span<byte> Buffer(int size)
        {
            if (_output.Length < size) _output = new byte[Math.Max(size, _output.Length * 2)];
            return _output.AsSpan(0, size);
        }
    }
}

/// <summary>A segment retired (retention, truncation) while the cleaner read it: the pass is abandoned.</summary>
internal sealed class SegmentRetiredException() : Exception("A segment was retired during cleaning.");
